import { MalformedMessageError } from '@conveyor/core/transport';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { decodeRecordValue } from '../src/kafka-record.js';

// A record's value is whatever another producer wrote: decoding it either gives a message or a
// MalformedMessageError with a reason (which routes it to the dead-letter topic), never another
// error, and never a change to Object.prototype.
it('decodeRecordValue: arbitrary bytes, truncated and hostile JSON give a message or MalformedMessageError', () => {
  const value = fc.oneof(
    fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
    fc.tuple(fc.jsonValue({ maxDepth: 4 }), fc.nat()).map(([json, cut]) => {
      const text = `{"__proto__":{"polluted":1},"body":"W10=","headers":${JSON.stringify(json)}}`;
      return Buffer.from(text.slice(0, cut % (text.length + 1)));
    }),
    fc.constant(null),
  );
  fc.assert(
    fc.property(value, (bytes) => {
      try {
        decodeRecordValue(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(MalformedMessageError);
        expect((error as Error).message.length).toBeGreaterThan(0);
      }
    }),
    { numRuns: 800 },
  );
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});
