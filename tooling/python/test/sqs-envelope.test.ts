// What a current Python Celery client writes to SQS (kombu's SQS transport), checked against the
// committed reference sample (interop/samples/sqs-envelope.json) and docs/celery-wire.md §4. Needs
// the ElasticMQ of tooling/brokers: skipped without one, but failed instead when CI is set.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { capturePythonSqsEnvelopes, INTEROP_DIR, type SqsEnvelopeCapture } from '../src/index.js';
import { pythonJsonDumps } from './redis.js';
import { celerySqsUrl, sqsOrSkip } from './sqs.js';

const sqs = await sqsOrSkip('SQS envelope capture');

const sample = JSON.parse(
  readFileSync(`${INTEROP_DIR}/samples/sqs-envelope.json`, 'utf8'),
) as SqsEnvelopeCapture;
const ISO_AWARE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;
const BODY = '[[2, 3], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]';

describe.skipIf(!sqs.ok)('Python Celery -> SQS envelope (no worker consuming)', () => {
  it('is base64 of the Python json.dumps envelope, whose body is base64 again; no attributes, no delay', async () => {
    const queue = `interop-capture-${process.pid}-${Date.now()}`;
    const before = Date.now();
    const live = await capturePythonSqsEnvelopes({ brokerUrl: celerySqsUrl(), queue });
    const after = Date.now();
    expect(live.versions.celery).toBe(sample.versions.celery);
    expect(live.versions.kombu).toBe(sample.versions.kombu);
    expect(live.messages.map((m) => m.variant)).toEqual(sample.messages.map((m) => m.variant));

    for (const [i, message] of live.messages.entries()) {
      const ref = sample.messages[i];
      // Two base64 layers: the MessageBody decodes to the envelope line, its body to the task JSON.
      expect(Buffer.from(message.message_body, 'base64').toString('utf8')).toBe(message.envelope_json);
      expect(Buffer.from(message.message_body, 'base64').toString('base64')).toBe(message.message_body);
      expect(pythonJsonDumps(message.envelope)).toBe(message.envelope_json);
      expect(message.body_decoded).toBe(BODY);
      expect(Object.keys(message.envelope)).toEqual(Object.keys(ref?.envelope ?? {}));
      expect(Object.keys(message.envelope.headers)).toEqual(Object.keys(ref?.envelope.headers ?? {}));
      expect(Object.keys(message.envelope.properties)).toEqual(Object.keys(ref?.envelope.properties ?? {}));
      // kombu's name for the queue travels as the routing key; SQS gets the mangled one.
      expect(message.envelope.properties.delivery_info).toEqual({
        exchange: '',
        routing_key: message.send_task.queue,
      });
      expect(message.sqs_queue_name).toBe(ref?.sqs_queue_name.replace('interop-capture', queue));
      expect(message.queue_attributes.VisibilityTimeout).toBe('1800');
      expect(message.message_attributes).toBeNull();
      expect(message.envelope.properties.priority).toBe(ref?.envelope.properties.priority);
      expect(message.envelope.properties.expiration).toBe(ref?.envelope.properties.expiration);
    }

    const byVariant = new Map(live.messages.map((m) => [m.variant, m]));
    // A countdown is the eta header only: SQS holds nothing back (the worker does).
    const delayed = byVariant.get('countdown+priority');
    expect(delayed?.envelope.headers.eta).toMatch(ISO_AWARE);
    const etaMs = Date.parse(String(delayed?.envelope.headers.eta));
    expect(etaMs).toBeGreaterThanOrEqual(before + 29_000);
    expect(etaMs).toBeLessThanOrEqual(after + 31_000);
    expect(delayed?.queue_attributes.DelaySeconds).toBe('0');
    expect(byVariant.get('countdown+expires+priority')?.envelope.properties.expiration).toBe('120000');

    const fifo = byVariant.get('fifo');
    expect(fifo?.sqs_queue_name).toBe(`${queue}.fifo`);
    expect(fifo?.queue_attributes).toMatchObject({ FifoQueue: 'true', ContentBasedDeduplication: 'false' });
    expect(fifo?.system_attributes.MessageGroupId).toBe('default');
    expect(fifo?.system_attributes.MessageDeduplicationId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );

    // '.' becomes '-', other punctuation but '-' and '_' becomes '_'.
    expect(byVariant.get('mangled-name')?.sqs_queue_name).toBe(`${queue}-dotted_name`);
  }, 120_000);
});
