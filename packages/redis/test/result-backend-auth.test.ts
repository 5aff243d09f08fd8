import { randomBytes } from 'node:crypto';
import { BrokerAuthenticationError, BrokerConnectionError } from '@conveyor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisResultBackend } from '../src/index.js';
import { REDIS, rawClient } from './redis-harness.js';

// An ACL user created on the shared Redis for this file only (a unique name, deleted afterwards):
// the result backend must report refused credentials as RedisTransport does, not as ioredis's
// "Connection is closed.", and never show the password.
const DB = 13;
const suffix = randomBytes(4).toString('hex');
const USER = { name: `conveyor-rb-auth-${suffix}`, password: `rb-${randomBytes(12).toString('hex')}` };
const WRONG = `wrong-${randomBytes(12).toString('hex')}`;
const admin = rawClient(DB);

beforeAll(async () => {
  await admin.call('ACL', 'SETUSER', USER.name, 'reset', 'on', `>${USER.password}`, '+@all', '~*', '&*');
});

afterAll(async () => {
  await admin.call('ACL', 'DELUSER', USER.name);
  admin.disconnect();
});

/** Every text an error shows: message, stack and the causes' (where a password could leak). */
function everyText(error: unknown): string {
  const texts: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause)
    texts.push(e.message, e.stack ?? '', String(e));
  return texts.join('\n');
}

describe('RedisResultBackend credentials', () => {
  it.each([
    [
      'store',
      (b: RedisResultBackend) =>
        b.store({
          status: 'SUCCESS',
          result: 1,
          traceback: null,
          children: [],
          date_done: null,
          task_id: 'x',
        }),
    ],
    ['get', (b: RedisResultBackend) => b.get('x')],
    ['waitFor', (b: RedisResultBackend) => b.waitFor('x', { timeoutMs: 5000 })],
  ] as const)(
    'a wrong password fails %s with BrokerAuthenticationError, without the password',
    async (_name, call) => {
      const results = new RedisResultBackend({ ...REDIS, db: DB, username: USER.name, password: WRONG });
      try {
        const started = performance.now();
        const error = await call(results).then(
          () => new Error('succeeded'),
          (e: unknown) => e,
        );
        console.log(
          `redis result backend: ${_name} failed after ${Math.round(performance.now() - started)} ms: ${(error as Error).message}`,
        );
        expect(error).toBeInstanceOf(BrokerAuthenticationError);
        expect(error).toMatchObject({ code: 'AUTHENTICATION_FAILED', retryable: false });
        expect((error as Error).message).toContain(USER.name);
        expect((error as Error).message).toMatch(/WRONGPASS/);
        expect(everyText(error)).not.toContain(WRONG);
        expect(everyText(error)).not.toContain(USER.password);
      } finally {
        await results.close();
      }
    },
  );

  it('the right password works, and an unreachable server is a retryable BrokerConnectionError', async () => {
    const results = new RedisResultBackend({
      ...REDIS,
      db: DB,
      username: USER.name,
      password: USER.password,
    });
    try {
      expect(await results.get(`rb-auth-${suffix}`)).toBeNull();
    } finally {
      await results.close();
    }
    const unreachable = new RedisResultBackend({ host: '127.0.0.1', port: 1, connectTimeoutMs: 5000 });
    try {
      const error = await unreachable.get('x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BrokerConnectionError);
      expect(error).toMatchObject({ code: 'CONNECTION_FAILED', retryable: true });
    } finally {
      await unreachable.close();
    }
  });
});
