import { MalformedMessageError } from '@conveyor/core/transport';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { decodeSqsBody } from '../src/index.js';

// An SQS MessageBody is whatever another producer sent: decoding it (base64 or not, as kombu reads
// it) either gives a message or a MalformedMessageError with a reason, never another error, and
// never a change to Object.prototype.
it('decodeSqsBody: arbitrary text, base64 of garbage, truncated and hostile JSON', () => {
  const body = fc.oneof(
    fc.string({ maxLength: 1024 }),
    fc.uint8Array({ maxLength: 1024 }).map((bytes) => Buffer.from(bytes).toString('base64')),
    fc.tuple(fc.jsonValue({ maxDepth: 4 }), fc.nat(), fc.boolean()).map(([json, cut, base64]) => {
      const text = `{"constructor":{"prototype":{"polluted":1}},"body":"W10=","headers":${JSON.stringify(json)}}`;
      const sliced = text.slice(0, cut % (text.length + 1));
      return base64 ? Buffer.from(sliced).toString('base64') : sliced;
    }),
  );
  fc.assert(
    fc.property(body, (text) => {
      try {
        decodeSqsBody(text);
      } catch (error) {
        expect(error).toBeInstanceOf(MalformedMessageError);
        expect((error as Error).message.length).toBeGreaterThan(0);
      }
    }),
    { numRuns: 800 },
  );
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});
