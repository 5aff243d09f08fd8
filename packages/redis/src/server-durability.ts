import type { Redis } from 'ioredis';

/** A warning about the Redis server Conveyor connected to: its settings can lose accepted tasks. */
export interface RedisWarning {
  /**
   * `CONVEYOR_REDIS_EVICTION`: `maxmemory-policy` lets Redis evict keys, queues included.
   * `CONVEYOR_REDIS_UNCHECKED`: the server refused to say (INFO and CONFIG GET denied).
   */
  code: 'CONVEYOR_REDIS_EVICTION' | 'CONVEYOR_REDIS_UNCHECKED';
  /** Names the server (host:port, never credentials), the setting, the risk and the fix. */
  message: string;
}

/** What a Redis server says about what it keeps; null where it refused to say. */
export interface RedisDurability {
  /** `redis_version` from INFO. */
  version: string | null;
  /** `maxmemory-policy`; `noeviction` is the only one under which Redis never drops a queue. */
  maxmemoryPolicy: string | null;
  /** AOF on (`appendonly yes`). */
  aof: boolean | null;
  /** `appendfsync`: `always`, `everysec` or `no` (CONFIG GET only). */
  appendfsync: string | null;
  /** `save`: the RDB schedule ("3600 1 300 100"), '' for none (CONFIG GET only). */
  rdbSchedule: string | null;
  /** Writes since the last RDB snapshot (what an RDB-only server would lose now). */
  rdbChangesSinceLastSave: number | null;
}

/**
 * Reads the durability settings of one server: INFO, which managed services allow, then CONFIG
 * GET for what INFO does not show (the fsync policy, the snapshot schedule), which many of them
 * disable. Never throws: what could not be read is null.
 */
export async function readDurability(node: Redis): Promise<RedisDurability> {
  const info = await node.info().then(parseInfo, () => new Map<string, string>());
  const changes = info.get('rdb_changes_since_last_save');
  const aof = info.get('aof_enabled');
  return {
    version: info.get('redis_version') ?? null,
    maxmemoryPolicy: info.get('maxmemory_policy') ?? (await configGet(node, 'maxmemory-policy')),
    aof: aof === undefined ? null : aof === '1',
    appendfsync: await configGet(node, 'appendfsync'),
    rdbSchedule: await configGet(node, 'save'),
    rdbChangesSinceLastSave: changes === undefined ? null : Number(changes),
  };
}

/**
 * Reads only `maxmemory-policy`, for the check at connect: INFO's memory section, else CONFIG
 * GET. Null when the server refuses both.
 */
export async function readEvictionPolicy(node: Redis): Promise<string | null> {
  const info = await node.info('memory').then(parseInfo, () => new Map<string, string>());
  return info.get('maxmemory_policy') ?? (await configGet(node, 'maxmemory-policy'));
}

/** The warning a policy deserves at connect, or null for `noeviction`. */
export function evictionWarning(target: string, policy: string | null): RedisWarning | null {
  if (policy === 'noeviction') return null;
  if (policy === null) {
    return {
      code: 'CONVEYOR_REDIS_UNCHECKED',
      message:
        `Redis at ${target} would not tell its maxmemory-policy (INFO and CONFIG GET refused), so ` +
        'Conveyor could not check it: unless it is noeviction, Redis evicts keys when memory is full ' +
        'and queued tasks are lost. Check it with your provider.',
    };
  }
  const which = policy.startsWith('volatile-')
    ? 'keys that have a time to live (results; queues have none, but a full Redis then drops results instead of refusing writes)'
    : 'any key, queue lists included: the tasks in an evicted queue are lost for good';
  return {
    code: 'CONVEYOR_REDIS_EVICTION',
    message:
      `Redis at ${target} has maxmemory-policy "${policy}": when memory is full it evicts ${which}. ` +
      'Set maxmemory-policy noeviction, so that a full Redis refuses new tasks (the publish fails) ' +
      'instead of dropping accepted ones (BullMQ asks the same).',
  };
}

/** What the persistence settings keep, in words (the README's "Durability" table). */
export function describePersistence(d: RedisDurability): string {
  if (d.aof === null) return 'unknown (INFO refused)';
  const rdb =
    d.rdbSchedule === null
      ? 'RDB schedule unknown (CONFIG GET refused)'
      : d.rdbSchedule === ''
        ? 'no RDB snapshots'
        : `RDB save "${d.rdbSchedule}"`;
  if (d.aof) {
    switch (d.appendfsync) {
      case 'always':
        return `AOF, appendfsync always (${rdb}): no accepted task is lost, even by a machine crash`;
      case 'everysec':
        return `AOF, appendfsync everysec (${rdb}): a redis-server crash loses no accepted task; a machine crash can lose about the last second`;
      case 'no':
        return `AOF, appendfsync no (${rdb}): a redis-server crash loses no accepted task; a machine crash can lose what the OS had not flushed (up to about 30 s)`;
      default:
        return `AOF, appendfsync unknown (CONFIG GET refused; ${rdb}): a redis-server crash loses no accepted task`;
    }
  }
  const since =
    d.rdbChangesSinceLastSave === null ? '' : ` (${d.rdbChangesSinceLastSave} writes since the last one)`;
  if (d.rdbSchedule === null)
    return `no AOF; RDB schedule unknown (CONFIG GET refused): a crash loses at least every task accepted since the last snapshot${since}`;
  if (d.rdbSchedule === '')
    return 'none (no AOF, no RDB snapshots): a restart of redis-server loses every task in Redis';
  return `RDB snapshots only, save "${d.rdbSchedule}": a crash loses every task accepted since the last snapshot${since}`;
}

/** The `key:value` lines of an INFO reply. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** One CONFIG GET value; null when CONFIG is disabled, renamed or denied by an ACL. */
async function configGet(node: Redis, parameter: string): Promise<string | null> {
  try {
    const reply = (await node.config('GET', parameter)) as unknown;
    return Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : null;
  } catch {
    return null;
  }
}
