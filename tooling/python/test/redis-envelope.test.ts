// What a current Python Celery client writes to Redis, byte for byte, checked against the committed
// reference sample (interop/samples/redis-envelope.json). Needs a real Redis: skipped without one, but
// failed instead when CI is set.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  capturePythonRedisEnvelopes,
  ensurePythonCelery,
  INTEROP_DIR,
  type RedisEnvelopeCapture,
  sendFromPython,
} from '../src/index.js';
import { pythonJsonDumps, redisCommand, redisOrSkip } from './redis.js';

const redis = await redisOrSkip('Redis envelope capture');

const SEP = '\x06\x16';
const sample = JSON.parse(
  readFileSync(`${INTEROP_DIR}/samples/redis-envelope.json`, 'utf8'),
) as RedisEnvelopeCapture;
const ISO_AWARE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;

describe.skipIf(!redis.ok)('Python Celery -> Redis envelope (no worker consuming)', () => {
  const brokerUrl = `${redis.ok ? redis.url : ''}/0`;

  it('interop.add(2, 3) with countdown=30, priority=6 is LPUSHed to "<queue>\\x06\\x166" as Python json.dumps', async () => {
    const queue = `interop-envelope-${process.pid}-${Date.now()}`;
    const priorityKey = `${queue}${SEP}6`;
    try {
      // The venv set-up runs under a lock other test packages share, so it can take any time: it is
      // done before the window opens. The ETA is then bracketed by the send itself (Python computes
      // it between `before` and `after`), which holds however slow the machine is.
      await ensurePythonCelery();
      const before = Date.now();
      const sent = await sendFromPython({
        brokerUrl,
        queue,
        task: 'interop.add',
        args: [2, 3],
        countdown: 30,
        priority: 6,
      });
      const after = Date.now();

      expect(await redisCommand(brokerUrl, ['LLEN', queue])).toEqual(['0']);
      const raw = await redisCommand(brokerUrl, ['LRANGE', priorityKey, '0', '-1']);
      expect(raw).toHaveLength(1);
      const line = raw[0] ?? '';
      const env = JSON.parse(line) as RedisEnvelopeCapture['messages'][number]['envelope'];

      // Byte-level: one line, Python's default separators, key order as in the sample.
      expect(pythonJsonDumps(env)).toBe(line);
      const ref = sample.messages.find((m) => m.variant === 'countdown+priority');
      expect(ref).toBeDefined();
      expect(Object.keys(env)).toEqual(Object.keys(ref?.envelope ?? {}));
      expect(Object.keys(env.headers)).toEqual(Object.keys(ref?.envelope.headers ?? {}));
      expect(Object.keys(env.properties)).toEqual(Object.keys(ref?.envelope.properties ?? {}));

      expect(env['content-type']).toBe('application/json');
      expect(env['content-encoding']).toBe('utf-8');
      expect(env.headers).toMatchObject({
        lang: 'py',
        task: 'interop.add',
        id: sent.id,
        root_id: sent.id,
        parent_id: null,
        argsrepr: '[2, 3]',
        kwargsrepr: '{}',
        retries: 0,
        timelimit: [null, null],
        ignore_result: null,
        replaced_task_nesting: 0,
        stamped_headers: null,
        stamps: {},
      });
      const eta = env.headers.eta as string;
      expect(eta).toMatch(ISO_AWARE);
      // 30 s after some moment of the send; a second either side only for clock rounding.
      const etaMs = Date.parse(eta);
      expect(etaMs).toBeGreaterThanOrEqual(before + 29_000);
      expect(etaMs).toBeLessThanOrEqual(after + 31_000);
      expect(env.properties).toMatchObject({
        correlation_id: sent.id,
        delivery_mode: 2,
        delivery_info: { exchange: '', routing_key: queue },
        priority: 6,
        body_encoding: 'base64',
      });
      expect(env.properties.reply_to).toMatch(/^[0-9a-f-]{36}$/);
      expect(env.properties.delivery_tag).toMatch(/^[0-9a-f-]{36}$/);
      const body = Buffer.from(env.body, 'base64').toString('utf8');
      expect(body).toBe('[[2, 3], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]');

      // The sending client also declared the queue: binding set plus kombu 5.7's permanent set.
      const member = `${queue}${SEP}${SEP}${queue}`;
      expect(await redisCommand(brokerUrl, ['SMEMBERS', `_kombu.binding.${queue}`])).toEqual([member]);
      expect(await redisCommand(brokerUrl, ['SMEMBERS', `_kombu.binding_permanent.${queue}`])).toEqual([
        member,
      ]);
    } finally {
      await redisCommand(brokerUrl, [
        'DEL',
        queue,
        `${queue}${SEP}3`,
        priorityKey,
        `${queue}${SEP}9`,
        `_kombu.binding.${queue}`,
        `_kombu.binding_permanent.${queue}`,
      ]);
    }
  });

  it('capture_redis_envelope.py still produces what the committed sample shows', async () => {
    const queue = `interop-capture-${process.pid}-${Date.now()}`;
    const live = await capturePythonRedisEnvelopes({ brokerUrl, queue });
    expect(live.versions.celery).toBe(sample.versions.celery);
    expect(live.versions.kombu).toBe(sample.versions.kombu);
    expect(live.messages.map((m) => m.variant)).toEqual(sample.messages.map((m) => m.variant));
    for (const [i, message] of live.messages.entries()) {
      const ref = sample.messages[i];
      expect(message.list_key).toBe(ref?.list_key.replace('interop-capture', queue));
      expect(Object.keys(message.envelope.headers)).toEqual(Object.keys(ref?.envelope.headers ?? {}));
      expect(Object.keys(message.envelope.properties)).toEqual(Object.keys(ref?.envelope.properties ?? {}));
      expect(message.envelope.properties.priority).toBe(ref?.envelope.properties.priority);
      expect(message.envelope.properties.expiration).toBe(ref?.envelope.properties.expiration);
      expect(message.body_decoded).toBe(ref?.body_decoded);
      expect(pythonJsonDumps(message.envelope)).toBe(message.raw);
    }
    expect(live.messages[2]?.envelope.properties.expiration).toBe('120000');
  });
});
