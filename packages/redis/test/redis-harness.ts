import type { ConformanceHarness } from '@conveyor/conformance';
import { Cluster, Redis } from 'ioredis';
import { queueKeys, RedisTransport, type RedisTransportOptions } from '../src/index.js';

export const REDIS = { host: '127.0.0.1', port: 6379 };
export const CLUSTER_NODES = [7000, 7001, 7002].map((port) => ({ host: '127.0.0.1', port }));

/** A plain client for checks the transport cannot do itself (raw writes, key listings). */
export function rawClient(db = 0): Redis {
  return new Redis({ ...REDIS, db, lazyConnect: false });
}

/** Conformance harness for one Redis server (db `db`), with the fault proxy in front when asked. */
export function singleNodeHarness(
  name: string,
  db: number,
  extra: Partial<RedisTransportOptions> = {},
): ConformanceHarness {
  const prefix = extra.keyPrefix ?? '';
  return {
    name,
    upstream: REDIS,
    createTransport: ({ endpoint = REDIS, visibilityTimeoutMs }) =>
      new RedisTransport({
        host: endpoint.host,
        port: endpoint.port,
        db,
        pollIntervalMs: 50,
        ...extra,
        ...(visibilityTimeoutMs !== undefined ? { visibilityTimeoutMs } : {}),
      }),
    async publishRaw(queue, bytes) {
      const client = rawClient(db);
      await client.lpush(queueKeys(queue, prefix, false).ready[0], Buffer.from(bytes));
      client.disconnect();
    },
    async cleanup(queues) {
      const client = rawClient(db);
      // The suite passes every queue a case used, dead-letter queues included.
      const keys = queues.flatMap((q) => {
        const k = queueKeys(q, prefix, false);
        return [...k.ready, k.inflight, k.payload, k.delayed, k.counts, k.countsAge, k.sequence];
      });
      if (keys.length > 0) await client.del(...keys);
      client.disconnect();
    },
  };
}

/** Conformance harness for the three-node Redis Cluster started by tooling/brokers. */
export function clusterHarness(): ConformanceHarness {
  return {
    name: 'redis-cluster',
    async publishRaw(queue, bytes) {
      const cluster = new Cluster(CLUSTER_NODES);
      await cluster.lpush(queueKeys(queue, '', true).ready[0], Buffer.from(bytes));
      cluster.disconnect();
    },
    createTransport: ({ visibilityTimeoutMs }) =>
      new RedisTransport({
        cluster: CLUSTER_NODES,
        pollIntervalMs: 50,
        ...(visibilityTimeoutMs !== undefined ? { visibilityTimeoutMs } : {}),
      }),
  };
}
