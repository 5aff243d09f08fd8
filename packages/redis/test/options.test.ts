import { readdirSync, readFileSync } from 'node:fs';
import { createFaultProxy } from '@conveyor/conformance';
import { describe, expect, it } from 'vitest';
import { parseRedisUrl, queueKeys, RedisTransport } from '../src/index.js';
import { REDIS } from './redis-harness.js';

describe('RedisTransport options', () => {
  it('reads every URL form', () => {
    expect(
      parseRedisUrl('redis://app:s%40cret@cache.local:6380/3?keyPrefix=t1:&visibilityTimeoutMs=5000'),
    ).toEqual({
      username: 'app',
      password: 's@cret',
      host: 'cache.local',
      port: 6380,
      db: 3,
      keyPrefix: 't1:',
      visibilityTimeoutMs: 5000,
    });
    expect(parseRedisUrl('rediss://:pw@h')).toEqual({ password: 'pw', host: 'h', port: 6379, tls: true });
    expect(parseRedisUrl('redis+cluster://a:7000,b:7001')).toEqual({
      cluster: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
    });
    expect(parseRedisUrl('redis+sentinel://s1,s2:26380/mymaster/2')).toEqual({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      sentinelName: 'mymaster',
      db: 2,
    });
  });

  it('fails at construction, naming the option', () => {
    expect(() => new RedisTransport({ visibilityTimeoutMs: -1 })).toThrow(/"visibilityTimeoutMs"/);
    expect(() => new RedisTransport({ port: 70000 })).toThrow(/"port"/);
    expect(() => new RedisTransport({ sentinels: [{ host: 'a', port: 1 }] })).toThrow(/"sentinelName"/);
    expect(() => new RedisTransport({ cluster: [{ host: 'a', port: 1 }], db: 2 })).toThrow(/"db"/);
    expect(() => new RedisTransport({ bogus: 1 } as never)).toThrow(/"bogus"/);
    expect(() => new RedisTransport({ onWarning: 'log' } as never)).toThrow(/"onWarning"/);
    expect(() => new RedisTransport('redis://h/0?nope=1')).toThrow(/"nope"/);
    expect(() => new RedisTransport('redis://h/x')).toThrow(/database must be a number/);
  });

  it('never shows the password in errors about the URL', () => {
    expect(() => new RedisTransport('redis://u:hunter2@h/x')).toThrow(/u:\*\*\*@/);
    expect(() => new RedisTransport('redis://u:hunter2@h/x')).not.toThrow(/hunter2/);
  });

  it('puts every key of a queue in one Cluster slot with a hash tag', () => {
    const keys = queueKeys('emails', 'p:', true);
    for (const key of [...keys.ready, keys.inflight, keys.delayed])
      expect(key.startsWith('p:{emails}')).toBe(true);
    expect(queueKeys('emails', '', false).ready).toEqual([
      'emails',
      'emails\x06\x163',
      'emails\x06\x166',
      'emails\x06\x169',
    ]);
  });
});

describe('Lua scripts', () => {
  it('are named <operation>-<number of KEYS>, and the header documents exactly that many keys', () => {
    const dir = new URL('../src/scripts/', import.meta.url);
    for (const file of readdirSync(dir)) {
      const [, count] = /-(\d+)\.lua$/.exec(file) ?? [];
      expect(count, file).toBeDefined();
      const lua = readFileSync(new URL(file, dir), 'utf8');
      const header = lua.slice(0, lua.indexOf(']]'));
      const documented = new Set<number>();
      for (const [, from, to] of header.matchAll(/KEYS\[(\d+)(?:\.\.(\d+))?\]/g)) {
        for (let i = Number(from); i <= Number(to ?? from); i++) documented.add(i);
      }
      expect(documented.size, `${file} documents ${[...documented]}`).toBe(Number(count));
      const used = Math.max(...[...lua.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1])));
      expect(used, `${file} uses KEYS up to ${used}`).toBeLessThanOrEqual(Number(count));
    }
  });
});

describe('RedisTransport connect', () => {
  it('fails with BrokerConnectionError when nothing answers, instead of hanging', async () => {
    // A blackhole accepts the TCP connection and then swallows every byte: only the connect
    // timeout can end the wait (a refused port would fail at once and prove nothing).
    const proxy = await createFaultProxy({ upstream: REDIS });
    proxy.blackhole(true);
    const transport = new RedisTransport({ ...proxy.endpoint, connectTimeoutMs: 1000 });
    try {
      const error = await transport.connect().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CONNECTION_FAILED', retryable: true });
      expect(String((error as Error).message)).toMatch(/timed out after 1000 ms/);
      expect(proxy.stats().accepted).toBeGreaterThan(0);
    } finally {
      await transport.close();
      await proxy.close();
    }
  }, 10_000);

  it('fails at once when the port refuses, naming where it tried', async () => {
    const transport = new RedisTransport({ host: '127.0.0.1', port: 1, connectTimeoutMs: 10_000 });
    await expect(transport.connect()).rejects.toMatchObject({
      code: 'CONNECTION_FAILED',
      message: expect.stringContaining('127.0.0.1:1/0'),
    });
    await transport.close();
  });
});
