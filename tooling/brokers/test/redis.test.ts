import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerUp, UP_TIMEOUT_MS, uniqueName, until } from './brokers.js';

const options = { host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 };

describe('redis on 127.0.0.1:6379', () => {
  const redis = new Redis(options);
  const blocking = new Redis(options);
  const keys: string[] = [];

  beforeAll(async () => {
    await brokerUp('redis');
    await redis.connect();
    await blocking.connect();
  }, UP_TIMEOUT_MS);

  afterAll(async () => {
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    blocking.disconnect();
  });

  it('answers PING', async () => {
    expect(await redis.ping()).toBe('PONG');
  });

  it('LPUSH then BRPOP gives the items back first in, first out', async () => {
    const key = uniqueName('conveyor:brokers:list');
    keys.push(key);
    expect(await redis.lpush(key, 'first', 'second', 'third')).toBe(3);
    expect(await redis.brpop(key, 1)).toEqual([key, 'first']);
    expect(await redis.brpop(key, 1)).toEqual([key, 'second']);
    expect(await redis.brpop(key, 1)).toEqual([key, 'third']);
    expect(await redis.brpop(key, 0.1)).toBeNull();
  });

  it('BRPOP blocks until another client pushes', async () => {
    const key = uniqueName('conveyor:brokers:list');
    keys.push(key);
    const name = uniqueName('blocked');
    await blocking.client('SETNAME', name);
    const popped = blocking.brpop(key, 10);
    await until(async () => {
      const clients = String(await redis.client('LIST'));
      return clients.split('\n').some((line) => line.includes(`name=${name}`) && line.includes('cmd=brpop'));
    });
    await redis.lpush(key, 'wake-up');
    expect(await popped).toEqual([key, 'wake-up']);
  });
});
