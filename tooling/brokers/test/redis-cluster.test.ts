import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerUp, UP_TIMEOUT_MS, uniqueName } from './brokers.js';

const startupNodes = [7000, 7001, 7002].map((port) => ({ host: '127.0.0.1', port }));

describe('redis cluster on 127.0.0.1:7000-7002', () => {
  const cluster = new Cluster(startupNodes, { lazyConnect: true, redisOptions: { maxRetriesPerRequest: 1 } });
  const prefix = uniqueName('conveyor:brokers:cluster');
  const keys = Array.from({ length: 30 }, (_, i) => `${prefix}:${i}`);

  beforeAll(async () => {
    await brokerUp('redis-cluster');
    await cluster.connect();
  }, UP_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all(keys.map((key) => cluster.del(key)));
    cluster.disconnect();
  });

  it('has three masters that cover all 16384 slots', async () => {
    const info = String(await cluster.cluster('INFO'));
    expect(info).toContain('cluster_state:ok');
    expect(info).toContain('cluster_slots_assigned:16384');
    expect(cluster.nodes('master')).toHaveLength(3);
  });

  it('sets keys that land on every master and reads them back', async () => {
    await Promise.all(keys.map((key, i) => cluster.set(key, `value-${i}`)));

    const slots = await Promise.all(keys.map((key) => cluster.cluster('KEYSLOT', key) as Promise<number>));
    expect(new Set(slots).size).toBeGreaterThan(10);

    const perMaster = await Promise.all(
      cluster.nodes('master').map(async (node) => (await node.keys(`${prefix}:*`)).length),
    );
    expect(perMaster).toHaveLength(3);
    expect(perMaster.every((count) => count > 0)).toBe(true);
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe(keys.length);

    const values = await Promise.all(keys.map((key) => cluster.get(key)));
    expect(values).toEqual(keys.map((_, i) => `value-${i}`));
  });

  it('refuses a multi-key command across slots but accepts one within a hash tag', async () => {
    await expect(cluster.mget(keys[0]!, keys[1]!, keys[2]!, keys[3]!)).rejects.toThrow(/CROSSSLOT/);

    const tagged = [`{${prefix}}:a`, `{${prefix}}:b`];
    keys.push(...tagged);
    await cluster.mset(tagged[0]!, '1', tagged[1]!, '2');
    expect(await cluster.mget(...tagged)).toEqual(['1', '2']);
  });
});
