import { encodeKombuEnvelope, type WireMessage } from '@conveyor/core/transport';
import { describe, expect, it } from 'vitest';
import {
  decodeSqsBody,
  ENVELOPE_ALLOWANCE_BYTES,
  encodeSqsBody,
  kombuEntityName,
  maxBodyBytes,
  SQS_MAX_MESSAGE_BYTES,
  sqsQueueName,
} from '../src/index.js';

// Names computed by kombu 5.7.0's SQS Channel.entity_name (tooling/python venv).
const KOMBU_NAMES: [string, string][] = [
  ['celery', 'celery'],
  ['a@b.celery.pidbox', 'a_b-celery-pidbox'],
  ['my.q.fifo', 'my-q.fifo'],
  ['x:y/z-w_v', 'x_y_z-w_v'],
  ['q.dlq', 'q-dlq'],
];

/**
 * The MessageBody kombu 5.7.0 writes (sqs_base64_encoding on) for a Celery `tasks.add(2, 3)`:
 * base64 of the JSON envelope whose body is itself base64 of `[[2, 3], {}, {}]`.
 */
const KOMBU_BODY =
  'eyJib2R5IjogIlcxc3lMQ0F6WFN3Z2UzMHNJSHQ5WFE9PSIsICJjb250ZW50LWVuY29kaW5nIjogInV0Zi04IiwgImNvbnRlbnQtdHlwZSI6ICJhcHBsaWNhdGlvbi9qc29uIiwgImhlYWRlcnMiOiB7ImxhbmciOiAicHkiLCAidGFzayI6ICJ0YXNrcy5hZGQiLCAiaWQiOiAiYTFiMiJ9LCAicHJvcGVydGllcyI6IHsiY29ycmVsYXRpb25faWQiOiAiYTFiMiIsICJyZXBseV90byI6ICJyIiwgImRlbGl2ZXJ5X21vZGUiOiAyLCAiZGVsaXZlcnlfaW5mbyI6IHsiZXhjaGFuZ2UiOiAiIiwgInJvdXRpbmdfa2V5IjogImNlbGVyeSJ9LCAicHJpb3JpdHkiOiAwLCAiYm9keV9lbmNvZGluZyI6ICJiYXNlNjQiLCAiZGVsaXZlcnlfdGFnIjogInRhZy0xIn19';

const message: WireMessage = {
  headers: { lang: 'py', task: 'tasks.add', id: 'a1b2' },
  properties: {
    content_type: 'application/json',
    content_encoding: 'utf-8',
    correlation_id: 'a1b2',
    reply_to: 'r',
  },
  body: new TextEncoder().encode('[[2, 3], {}, {}]'),
};

describe('queue names (kombu entity_name)', () => {
  it.each(KOMBU_NAMES)('%s becomes %s, as kombu names it', (name, sqs) => {
    expect(kombuEntityName(name)).toBe(sqs);
  });

  it('prefixes before mangling and gives FIFO transports .fifo names, dead-letter queues included', () => {
    expect(sqsQueueName('celery', 'dev.', false)).toBe('dev-celery');
    expect(sqsQueueName('jobs', '', true)).toBe('jobs.fifo');
    expect(sqsQueueName('jobs.dlq', '', true)).toBe('jobs-dlq.fifo');
    expect(sqsQueueName('jobs.fifo', '', true)).toBe('jobs.fifo');
  });
});

describe('message body (kombu sqs_base64_encoding)', () => {
  it('reads the body kombu writes', () => {
    const decoded = decodeSqsBody(KOMBU_BODY);
    expect(decoded.message.headers).toEqual(message.headers);
    expect(new TextDecoder().decode(decoded.message.body)).toBe('[[2, 3], {}, {}]');
    expect(decoded.deliveryInfo).toEqual({ exchange: '', routing_key: 'celery' });
    expect(decoded.deliveryTag).toBe('tag-1');
  });

  it('writes the layout kombu reads: base64 of the envelope, whose body is base64', () => {
    const envelope = encodeKombuEnvelope(message, { exchange: '', routing_key: 'celery' }, 'tag-1');
    const body = encodeSqsBody(envelope, true);
    const outer = JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
    const kombu = JSON.parse(Buffer.from(KOMBU_BODY, 'base64').toString('utf8'));
    expect(Object.keys(outer).sort()).toEqual(Object.keys(kombu).sort());
    expect(outer.body).toBe(kombu.body);
    expect(outer.properties).toMatchObject(kombu.properties);
    expect(outer.headers).toEqual(kombu.headers);
  });

  it('reads an envelope sent without the outer base64 (sqs_base64_encoding off)', () => {
    const envelope = encodeKombuEnvelope(message, { exchange: '', routing_key: 'celery' }, 'tag-2');
    expect(decodeSqsBody(encodeSqsBody(envelope, false)).message.headers).toEqual(message.headers);
  });

  it('refuses a body that is no envelope, so it is dead-lettered', () => {
    expect(() => decodeSqsBody('{"this is": not json at all')).toThrow(/not JSON/);
  });
});

describe('maxMessageBytes', () => {
  it('is the largest body whose double-base64 envelope fits 256 KiB with the header allowance', () => {
    const limit = maxBodyBytes(SQS_MAX_MESSAGE_BYTES, true);
    expect(limit).toBe(144_384);
    // The encoded body plus the allowance fits; three bytes more do not.
    expect((4 / 3) * ((4 / 3) * limit + ENVELOPE_ALLOWANCE_BYTES)).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
    expect((4 / 3) * ((4 / 3) * (limit + 3) + ENVELOPE_ALLOWANCE_BYTES)).toBeGreaterThan(
      SQS_MAX_MESSAGE_BYTES,
    );
    expect(maxBodyBytes(SQS_MAX_MESSAGE_BYTES, false)).toBe(193_536);
  });
});
