import { Client, defineTask } from '@conveyor/core';
import { decodeKombuEnvelope } from '@conveyor/core/transport';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisTransport, type RedisWarning } from '../src/index.js';
import { type PrivateRedis, startPrivateRedis } from './private-redis.js';

// Each case runs its own redis-server (tooling/brokers/redis-private.sh) on a free port and in a
// folder of its own, and kills it with SIGKILL: the shared Redis on 6379 is never touched.
const queue = 'durability';
const record = defineTask({ name: 'durability.record', handler: (_: [number]) => undefined });
const servers: PrivateRedis[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.dispose()));
});

async function privateRedis(options: string[]): Promise<PrivateRedis> {
  const server = await startPrivateRedis(options);
  servers.push(server);
  return server;
}

function transportOf(server: PrivateRedis, warnings: RedisWarning[] = []): RedisTransport {
  return new RedisTransport({
    host: server.host,
    port: server.port,
    connectTimeoutMs: 5000,
    onWarning: (warning) => warnings.push(warning),
  });
}

/** Task ids of the messages in the queue's ready list, read straight from Redis. */
async function storedIds(server: PrivateRedis): Promise<Set<string>> {
  const redis = new Redis({ host: server.host, port: server.port });
  try {
    const raws = await redis.lrangeBuffer(queue, 0, -1);
    return new Set(raws.map((raw) => String(decodeKombuEnvelope(raw).message.headers.id)));
  } finally {
    redis.disconnect();
  }
}

/**
 * Publishes from `publishers` concurrent loops until a publish fails. `crashAt` is called once
 * when `crashAfter` tasks have been accepted (their publish resolved); returns the accepted ids.
 */
async function publishUntilFailure(
  client: Client,
  crashAfter: number,
  crash: () => Promise<void>,
  publishers = 8,
): Promise<{ accepted: Set<string>; failed: number }> {
  const accepted = new Set<string>();
  let failed = 0;
  let crashed: Promise<void> | undefined;
  let n = 0;
  const loop = async (): Promise<void> => {
    while (failed === 0) {
      try {
        const handle = await client.send(record, [n++]);
        accepted.add(handle.id);
      } catch {
        failed += 1;
      }
      if (accepted.size >= crashAfter) crashed ??= crash();
    }
  };
  await Promise.all(Array.from({ length: publishers }, loop));
  await crashed;
  return { accepted, failed };
}

describe('Redis durability: redis-server killed with SIGKILL while tasks are published', () => {
  it('AOF with appendfsync everysec keeps every accepted task', async () => {
    const server = await privateRedis(['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '']);
    const transport = transportOf(server);
    const { accepted, failed } = await publishUntilFailure(
      new Client({ transport, defaultQueue: queue }),
      3000,
      () => server.kill(),
    );
    await transport.close();
    expect(failed).toBeGreaterThan(0);

    await server.restart();
    const stored = await storedIds(server);
    const lost = [...accepted].filter((id) => !stored.has(id));
    console.log(
      `durability (AOF everysec): ${accepted.size} tasks accepted before SIGKILL, ${stored.size} in Redis after the restart, ${lost.length} lost`,
    );
    expect(lost).toEqual([]);
    expect(stored.size).toBeGreaterThanOrEqual(accepted.size);
  }, 60_000);

  it('RDB snapshots only keep what the last snapshot held, nothing accepted after it', async () => {
    const server = await privateRedis(['--appendonly', 'no', '--save', '3600 1']);
    const transport = transportOf(server);
    const client = new Client({ transport, defaultQueue: queue });
    const before = await client.sendMany(
      record,
      Array.from({ length: 500 }, (_, i) => [i] as [number]),
    );
    const redis = new Redis({ host: server.host, port: server.port });
    await redis.save();
    redis.disconnect();
    const after = await client.sendMany(
      record,
      Array.from({ length: 500 }, (_, i) => [i] as [number]),
    );
    await server.kill();
    await transport.close();

    await server.restart();
    const stored = await storedIds(server);
    expect(stored).toEqual(new Set(before.map((h) => h.id)));
    expect(after.some((h) => stored.has(h.id))).toBe(false);
  }, 60_000);

  it('no persistence loses every task', async () => {
    const server = await privateRedis(['--appendonly', 'no', '--save', '']);
    const transport = transportOf(server);
    await new Client({ transport, defaultQueue: queue }).sendMany(
      record,
      Array.from({ length: 500 }, (_, i) => [i] as [number]),
    );
    expect((await transport.queueDepth(queue)).ready).toBe(500);
    await server.kill();
    await transport.close();

    await server.restart();
    expect((await storedIds(server)).size).toBe(0);
  }, 60_000);
});
