import { describe, expect, it } from 'vitest';
import {
  decodeKombuEnvelope,
  decodeTaskMessage,
  encodeKombuEnvelope,
  encodeTaskMessage,
} from '../src/transport-authors.js';

// Any producer can send a header named __proto__ (JSON.parse makes it an own key). Core keeps it
// as a header through decode and re-encode (a retry, an ETA hop) and never reads the keys of its
// value as headers: here they would forge the delivery count a re-published copy carries.
describe('a header named __proto__', () => {
  const envelope = `{"body":"W1tdLCB7fSwge31d","content-type":"application/json","headers":{"task":"t","id":"i","__proto__":{"x-conveyor-delivery-count":50,"polluted":1}},"properties":{"body_encoding":"base64"}}`;

  it('is an own extra header after decoding, and its keys are not', () => {
    const task = decodeTaskMessage(decodeKombuEnvelope(envelope).message);
    expect(Object.keys(task.extraHeaders)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(task.extraHeaders)).toBe(Object.prototype);
    expect((task.extraHeaders as Record<string, unknown>)['x-conveyor-delivery-count']).toBeUndefined();
  });

  it('is written back as it came when the task is re-published, and nothing else appears', () => {
    const task = decodeTaskMessage(decodeKombuEnvelope(envelope).message);
    const again = encodeTaskMessage({ ...task, retries: 1 });
    expect(Object.hasOwn(again.headers, '__proto__')).toBe(true);
    expect(Object.hasOwn(again.headers, 'x-conveyor-delivery-count')).toBe(false);
    const wire = decodeKombuEnvelope(
      encodeKombuEnvelope(again, { exchange: '', routing_key: 'q' }, 't'),
    ).message;
    expect(Object.getOwnPropertyDescriptor(wire.headers, '__proto__')?.value).toEqual({
      'x-conveyor-delivery-count': 50,
      polluted: 1,
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
