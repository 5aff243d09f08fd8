import { describe, expect, it } from 'vitest';
import { MalformedMessageError, type WireMessage } from '../src/index.js';
import {
  decodeKombuEnvelope,
  decodeTaskMessage,
  encodeKombuEnvelope,
  encodeTaskMessage,
} from '../src/transport-authors.js';

const ID = '22222222-2222-2222-2222-222222222222';
const DELIVERY_INFO = { exchange: '', routing_key: 'celery' };

function taskWire(): WireMessage {
  return encodeTaskMessage({ id: ID, task: 'tasks.add', args: [2, 3], kwargs: { z: 'é' } });
}

function envelopeOf(wire: WireMessage, priority = 0): Record<string, unknown> {
  return JSON.parse(encodeKombuEnvelope(wire, DELIVERY_INFO, 'tag-1', priority)) as Record<string, unknown>;
}

describe('encodeKombuEnvelope', () => {
  it('writes the top-level keys kombu reads, hyphenated', () => {
    const envelope = envelopeOf(taskWire());
    expect(Object.keys(envelope).sort()).toEqual([
      'body',
      'content-encoding',
      'content-type',
      'headers',
      'properties',
    ]);
    expect(envelope['content-type']).toBe('application/json');
    expect(envelope['content-encoding']).toBe('utf-8');
    expect(envelope).not.toHaveProperty('content_type');
  });

  it('base64-encodes the body once and says so in properties.body_encoding', () => {
    const wire = taskWire();
    const envelope = envelopeOf(wire);
    expect(typeof envelope.body).toBe('string');
    expect(Buffer.from(envelope.body as string, 'base64')).toEqual(Buffer.from(wire.body));
    expect((envelope.properties as Record<string, unknown>).body_encoding).toBe('base64');
  });

  it('writes delivery_info and delivery_tag, without which a Python consumer crashes', () => {
    const properties = envelopeOf(taskWire()).properties as Record<string, unknown>;
    expect(properties.delivery_info).toEqual({ exchange: '', routing_key: 'celery' });
    expect(properties.delivery_tag).toBe('tag-1');
    expect(properties.delivery_mode).toBe(2);
    expect(properties.correlation_id).toBe(ID);
  });

  it('writes the broker priority it is given, 0 by default', () => {
    expect((envelopeOf(taskWire()).properties as Record<string, unknown>).priority).toBe(0);
    expect((envelopeOf(taskWire(), 3).properties as Record<string, unknown>).priority).toBe(3);
  });

  it('encodes a body that is a view into a larger buffer by its own bytes only', () => {
    const backing = new TextEncoder().encode('xx[[1], {}, null]yy');
    const wire: WireMessage = { ...taskWire(), body: backing.subarray(2, backing.length - 2) };
    const envelope = envelopeOf(wire);
    expect(Buffer.from(envelope.body as string, 'base64').toString('utf8')).toBe('[[1], {}, null]');
  });
});

describe('decodeKombuEnvelope', () => {
  it('round-trips headers, properties and body bytes', () => {
    const wire = taskWire();
    const decoded = decodeKombuEnvelope(encodeKombuEnvelope(wire, DELIVERY_INFO, 'tag-9', 5));
    expect(decoded.message.headers).toEqual(wire.headers);
    expect(decoded.message.properties).toEqual({
      correlation_id: ID,
      reply_to: '',
      content_type: 'application/json',
      content_encoding: 'utf-8',
      delivery_mode: 2,
    });
    expect(Buffer.from(decoded.message.body)).toEqual(Buffer.from(wire.body));
    expect(decoded.deliveryTag).toBe('tag-9');
    expect(decoded.deliveryInfo).toEqual(DELIVERY_INFO);
    expect(decoded.brokerPriority).toBe(5);
    expect(decodeTaskMessage(decoded.message).kwargs).toEqual({ z: 'é' });
  });

  it('accepts bytes as well as a string', () => {
    const text = encodeKombuEnvelope(taskWire(), DELIVERY_INFO, 'tag');
    const decoded = decodeKombuEnvelope(new TextEncoder().encode(text));
    expect(decodeTaskMessage(decoded.message).args).toEqual([2, 3]);
  });

  it('reads a body that is not base64-encoded as UTF-8 text', () => {
    const decoded = decodeKombuEnvelope(
      JSON.stringify({
        body: '[[1], {}, null]',
        'content-type': 'application/json',
        headers: { task: 't', id: 'i' },
        properties: {},
      }),
    );
    expect(new TextDecoder().decode(decoded.message.body)).toBe('[[1], {}, null]');
  });

  it('defaults a missing content type and encoding to JSON and utf-8', () => {
    const decoded = decodeKombuEnvelope(JSON.stringify({ body: '' }));
    expect(decoded.message.properties.content_type).toBe('application/json');
    expect(decoded.message.properties.content_encoding).toBe('utf-8');
    expect(decoded.message.headers).toEqual({});
    expect(decoded.deliveryTag).toBeUndefined();
    expect(decoded.deliveryInfo).toBeUndefined();
  });

  it.each([
    ['not JSON', 'garbage{'],
    ['a JSON array', '[1, 2]'],
    ['JSON null', 'null'],
    ['missing body', '{"headers": {}}'],
    ['a numeric body', '{"body": 5}'],
    ['headers that are an array', '{"body": "", "headers": []}'],
    ['headers that are a string', '{"body": "", "headers": "x"}'],
    ['properties that are an array', '{"body": "", "properties": []}'],
  ])('rejects %s with MalformedMessageError', (_case, raw) => {
    expect(() => decodeKombuEnvelope(raw)).toThrow(MalformedMessageError);
  });

  it('rejects headers nested deeper than 100 levels (they could not be written back to retry or dead-letter)', () => {
    const nested = (depth: number): string =>
      `{"body":"","headers":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    expect(() => decodeKombuEnvelope(nested(5_000))).toThrow(/nested deeper than 100 levels/);
    expect(() => decodeKombuEnvelope(nested(101))).toThrow(MalformedMessageError);
    const deepest = decodeKombuEnvelope(nested(100)).message;
    expect(() => encodeKombuEnvelope(deepest, { exchange: '', routing_key: 'q' }, 't')).not.toThrow();
  });

  it('rejects bytes that are not UTF-8, even inside a string of a valid envelope (read as U+FFFD, its letter would be changed)', () => {
    const envelope = Buffer.concat([
      Buffer.from('{"body":"W10=","headers":{"task":"t","id":"i-'),
      Buffer.from([0xff, 0xc3]),
      Buffer.from('"},"properties":{"body_encoding":"base64"}}'),
    ]);
    expect(() => decodeKombuEnvelope(envelope)).toThrow(/not UTF-8/);
    expect(decodeKombuEnvelope(Buffer.from('{"body":"","headers":{"id":"é ✓"}}')).message.headers.id).toBe(
      'é ✓',
    );
  });
});
