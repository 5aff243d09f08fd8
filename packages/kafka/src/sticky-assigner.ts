import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/** The group protocol name of the sticky assigner; every Conveyor member offers it first. */
export const STICKY_ASSIGNER_NAME = 'conveyor-sticky';

/** Partitions per topic. */
export type TopicPartitions = Record<string, number[]>;

/**
 * A partition assigner that moves as few partitions as a balanced assignment allows: each member
 * tells the leader what it owns (in its join metadata), keeps up to its fair share of that, and
 * only the rest is dealt out. kafkajs's round-robin assigner deals everything anew, so a worker
 * joining a group of two moved most partitions, and every delivery in flight on a moved partition
 * ran twice. Members of an older protocol (kombu's `roundrobin`) make the group fall back to the
 * next protocol offered.
 */
export function stickyAssigner(owned: () => TopicPartitions): PartitionAssigner {
  return ({ cluster }) => ({
    name: STICKY_ASSIGNER_NAME,
    version: 1,
    protocol({ topics }) {
      return {
        name: STICKY_ASSIGNER_NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 1,
          topics,
          userData: Buffer.from(JSON.stringify(owned())),
        }),
      };
    },
    async assign({ members, topics }) {
      const previous = new Map<string, TopicPartitions>();
      for (const member of members) previous.set(member.memberId, ownedBy(member.memberMetadata));
      const plan = new Map<string, TopicPartitions>(members.map((m) => [m.memberId, {}]));
      for (const topic of topics) {
        const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId);
        const dealt = assignTopic(topic, partitions, [...plan.keys()], previous);
        for (const [memberId, list] of dealt) if (list.length > 0) plan.get(memberId)![topic] = list;
      }
      return [...plan].map(([memberId, assignment]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment,
          userData: Buffer.alloc(0),
        }),
      }));
    },
  });
}

/**
 * Deals one topic's partitions: members keep what they owned, up to the fair share (the first
 * `partitions % members` members in id order may hold one more), then the rest go to the members
 * holding fewest. Exported for tests.
 */
export function assignTopic(
  topic: string,
  partitions: readonly number[],
  memberIds: readonly string[],
  previous: ReadonlyMap<string, TopicPartitions>,
): Map<string, number[]> {
  const members = [...memberIds].sort();
  const out = new Map<string, number[]>(members.map((id) => [id, []]));
  if (members.length === 0) return out;
  const base = Math.floor(partitions.length / members.length);
  let bigger = partitions.length % members.length;
  const quota = new Map<string, number>();
  // Members that owned the most get the larger shares, so that they give up least.
  const byOwned = [...members].sort(
    (a, b) => (previous.get(b)?.[topic]?.length ?? 0) - (previous.get(a)?.[topic]?.length ?? 0),
  );
  for (const id of byOwned) {
    quota.set(id, base + (bigger > 0 ? 1 : 0));
    if (bigger > 0) bigger -= 1;
  }
  const free = new Set(partitions);
  for (const id of members) {
    for (const partition of previous.get(id)?.[topic] ?? []) {
      const mine = out.get(id)!;
      if (free.has(partition) && mine.length < quota.get(id)!) {
        mine.push(partition);
        free.delete(partition);
      }
    }
  }
  for (const partition of [...free].sort((a, b) => a - b)) {
    const target = members
      .filter((id) => out.get(id)!.length < quota.get(id)!)
      .sort((a, b) => out.get(a)!.length - out.get(b)!.length)[0];
    if (target === undefined) break;
    out.get(target)!.push(partition);
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}

function ownedBy(metadata: Buffer): TopicPartitions {
  try {
    const decoded = AssignerProtocol.MemberMetadata.decode(metadata);
    const parsed: unknown = JSON.parse(decoded?.userData?.toString('utf8') || '{}');
    if (typeof parsed !== 'object' || parsed === null) return {};
    const out: TopicPartitions = {};
    for (const [topic, list] of Object.entries(parsed)) {
      if (Array.isArray(list)) out[topic] = list.filter((p): p is number => Number.isInteger(p));
    }
    return out;
  } catch {
    return {};
  }
}
