import { afterEach, describe, expect, it } from 'vitest';
import { RedisTransport, type RedisWarning } from '../src/index.js';
import { type PrivateRedis, startPrivateRedis } from './private-redis.js';
import { REDIS } from './redis-harness.js';

// Private servers (tooling/brokers/redis-private.sh) with the settings under test; the shared
// Redis on 6379 is only read.
const servers: PrivateRedis[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.dispose()));
});

async function privateRedis(options: string[]): Promise<PrivateRedis> {
  const server = await startPrivateRedis(options);
  servers.push(server);
  return server;
}

/** Connects with warnings collected; returns them and the broker facts. */
async function connectTo(target: {
  host: string;
  port: number;
  password?: string;
}): Promise<{ warnings: RedisWarning[]; facts: Record<string, string> }> {
  const warnings: RedisWarning[] = [];
  const { host, port, password } = target;
  const transport = new RedisTransport({ host, port, password, onWarning: (w) => warnings.push(w) });
  try {
    await transport.connect();
    return { warnings, facts: await transport.brokerFacts() };
  } finally {
    await transport.close();
  }
}

describe('Redis server check at connect: maxmemory-policy', () => {
  it('warns that tasks can be evicted when the policy is not noeviction, naming the server, never the password', async () => {
    const server = await privateRedis(['--maxmemory-policy', 'allkeys-lru', '--requirepass', 'hunter2']);
    const { warnings, facts } = await connectTo({ ...server, password: 'hunter2' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.code).toBe('CONVEYOR_REDIS_EVICTION');
    expect(warnings[0]!.message).toContain(`127.0.0.1:${server.port}`);
    expect(warnings[0]!.message).toMatch(/"allkeys-lru".*evicts.*queue.*lost.*noeviction/s);
    expect(warnings[0]!.message).not.toContain('hunter2');
    expect(facts['maxmemory-policy']).toMatch(/^allkeys-lru: /);
  });

  it('says nothing for noeviction (the shared Redis)', async () => {
    const { warnings, facts } = await connectTo(REDIS);
    expect(warnings).toEqual([]);
    expect(facts['maxmemory-policy']).toMatch(/^noeviction: /);
  });

  it('is a process warning by default, with its code, once per process for the same server', async () => {
    const server = await privateRedis(['--maxmemory-policy', 'volatile-lru']);
    const seen: Error[] = [];
    const listen = (warning: Error): void => {
      seen.push(warning);
    };
    process.on('warning', listen);
    try {
      for (let i = 0; i < 2; i++) {
        const transport = new RedisTransport({ host: server.host, port: server.port });
        await transport.connect();
        await transport.close();
      }
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on next tick
    } finally {
      process.off('warning', listen);
    }
    const ours = seen.filter((w) => w.name === 'ConveyorWarning');
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatchObject({ code: 'CONVEYOR_REDIS_EVICTION' });
    expect(ours[0]!.message).toContain('"volatile-lru"');
  });

  it('reads the policy from INFO where CONFIG is disabled (managed Redis), and says what it could not read', async () => {
    const server = await privateRedis([
      '--maxmemory-policy',
      'allkeys-random',
      '--rename-command',
      'CONFIG',
      '',
      '--appendonly',
      'yes',
    ]);
    const { warnings, facts } = await connectTo(server);
    expect(warnings.map((w) => w.code)).toEqual(['CONVEYOR_REDIS_EVICTION']);
    expect(facts.persistence).toMatch(/^AOF, appendfsync unknown \(CONFIG GET refused/);
  });

  it('connects anyway and warns that it could not check when INFO and CONFIG are refused', async () => {
    // An ACL that denies both, as a restricted managed-Redis user (ioredis then skips its INFO
    // ready check with a console warning of its own).
    const server = await privateRedis([
      '--user',
      'default',
      'on',
      'nopass',
      '~*',
      '&*',
      '+@all',
      '-info',
      '-config',
    ]);
    const { warnings, facts } = await connectTo(server);
    expect(warnings.map((w) => w.code)).toEqual(['CONVEYOR_REDIS_UNCHECKED']);
    expect(warnings[0]!.message).toMatch(/could not check/);
    expect(facts).toMatchObject({
      persistence: 'unknown (INFO refused)',
      'maxmemory-policy': 'unknown (INFO and CONFIG GET refused)',
    });
  });
});

describe('RedisTransport.brokerFacts: persistence, for conveyor inspect', () => {
  it.each([
    [
      ['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''],
      /^AOF, appendfsync everysec \(no RDB snapshots\): a redis-server crash loses no accepted task; a machine crash can lose about the last second$/,
    ],
    [['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], /^AOF, appendfsync always/],
    [
      ['--appendonly', 'no', '--save', '3600 1 300 100'],
      /^RDB snapshots only, save "3600 1 300 100": a crash loses every task accepted since the last snapshot \(0 writes since the last one\)$/,
    ],
    [
      ['--appendonly', 'no', '--save', ''],
      /^none \(no AOF, no RDB snapshots\): a restart of redis-server loses every task in Redis$/,
    ],
  ])('%j', async (options, expected) => {
    const server = await privateRedis(options);
    const { facts } = await connectTo(server);
    expect(facts.persistence).toMatch(expected);
    expect(facts.server).toMatch(/^Redis \d+\.\d+/);
  });
});
