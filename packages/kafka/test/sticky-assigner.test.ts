import { describe, expect, it } from 'vitest';
import { assignTopic, type TopicPartitions } from '../src/sticky-assigner.js';

const P6 = [0, 1, 2, 3, 4, 5];
const owned = (entries: Record<string, number[]>) =>
  new Map<string, TopicPartitions>(Object.entries(entries).map(([id, list]) => [id, { t: list }]));
const plain = (plan: Map<string, number[]>) => Object.fromEntries(plan);

describe('assignTopic (sticky)', () => {
  it('deals a fresh group evenly', () => {
    const plan = assignTopic('t', P6, ['a', 'b', 'c'], new Map());
    expect([...plan.values()].map((l) => l.length)).toEqual([2, 2, 2]);
    expect([...plan.values()].flat().sort()).toEqual(P6);
  });

  it('changes nothing when the members stay', () => {
    const before = { a: [0, 3, 5], b: [1, 2, 4] };
    expect(plain(assignTopic('t', P6, ['a', 'b'], owned(before)))).toEqual(before);
  });

  it('a member joining takes only its share: each other member gives up one partition', () => {
    const plan = assignTopic('t', P6, ['a', 'b', 'c'], owned({ a: [0, 1, 2], b: [3, 4, 5] }));
    expect(plan.get('c')).toHaveLength(2);
    const kept = [
      ...plan.get('a')!.filter((p) => [0, 1, 2].includes(p)),
      ...plan.get('b')!.filter((p) => [3, 4, 5].includes(p)),
    ];
    expect(kept).toHaveLength(4);
  });

  it("a member leaving: the others keep theirs and share the leaver's", () => {
    const plan = assignTopic('t', P6, ['a', 'c'], owned({ a: [0, 1], b: [2, 3], c: [4, 5] }));
    expect(plan.get('a')).toEqual(expect.arrayContaining([0, 1]));
    expect(plan.get('c')).toEqual(expect.arrayContaining([4, 5]));
    expect([...plan.values()].flat().sort()).toEqual(P6);
  });

  it('ignores claims on partitions that no longer exist or that two members both claim', () => {
    const plan = assignTopic('t', [0, 1], ['a', 'b'], owned({ a: [0, 1, 7], b: [1] }));
    expect([...plan.values()].flat().sort()).toEqual([0, 1]);
    expect(plan.get('a')).toHaveLength(1);
    expect(plan.get('b')).toHaveLength(1);
  });
});
