import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedMessageError } from '../src/index.js';
import {
  decodeKombuEnvelope,
  decodeTaskMessage,
  encodeKombuEnvelope,
  encodeTaskMessage,
  type WireMessage,
} from '../src/transport-authors.js';

// Whatever arrives from a broker, the decoders either return or throw MalformedMessageError with
// a reason: never another error (which a consumer would not route to the dead-letter queue), and
// never a change to Object.prototype through `__proto__` or `constructor` keys.

/** Runs `decode`; returns the error it threw, or undefined. Fails on anything but MalformedMessageError. */
function onlyMalformed(decode: () => unknown): MalformedMessageError | undefined {
  try {
    decode();
    return undefined;
  } catch (error) {
    if (!(error instanceof MalformedMessageError)) {
      throw new Error(`expected MalformedMessageError, got ${String(error)}`, { cause: error });
    }
    expect(error.message.length).toBeGreaterThan(0);
    return error;
  }
}

function prototypeIsClean(): void {
  const probe: Record<string, unknown> = {};
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(probe.polluted).toBeUndefined();
  expect(probe.id).toBeUndefined();
}

/** JSON text with hostile keys at any depth. */
const hostileJson = fc
  .jsonValue({ maxDepth: 4 })
  .map((value) => JSON.stringify(value))
  .chain((text) =>
    fc.constantFrom(
      text,
      `{"__proto__":{"polluted":1},"body":"e30=","headers":${text}}`,
      `{"constructor":{"prototype":{"polluted":1}},"body":${JSON.stringify(text)}}`,
      `{"body":"W10=","headers":{"__proto__":{"id":"x"},"task":"t","id":"i"},"properties":{"body_encoding":"base64"}}`,
    ),
  );

function wireOf(
  headers: Record<string, unknown>,
  body: Uint8Array,
  contentType = 'application/json',
): WireMessage {
  return {
    headers: headers as WireMessage['headers'],
    properties: { content_type: contentType, content_encoding: 'utf-8' },
    body,
  };
}

describe('decoders on bad input (property-based)', () => {
  it('decodeKombuEnvelope: arbitrary bytes, including invalid UTF-8', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        onlyMalformed(() => decodeKombuEnvelope(bytes));
      }),
      { numRuns: 500 },
    );
    prototypeIsClean();
  });

  it('decodeKombuEnvelope: arbitrary and truncated JSON, wrong types, hostile keys', () => {
    fc.assert(
      fc.property(hostileJson, fc.nat(), (text, cut) => {
        onlyMalformed(() => decodeKombuEnvelope(text));
        onlyMalformed(() => decodeKombuEnvelope(text.slice(0, cut % (text.length + 1))));
      }),
      { numRuns: 500 },
    );
    prototypeIsClean();
  });

  it('decodeKombuEnvelope: very deep nesting and huge numbers', () => {
    for (const depth of [1_000, 100_000]) {
      onlyMalformed(() => decodeKombuEnvelope(`${'['.repeat(depth)}${']'.repeat(depth)}`));
      onlyMalformed(() =>
        decodeKombuEnvelope(`{"body":"","headers":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`),
      );
    }
    onlyMalformed(() => decodeKombuEnvelope('{"body":"","headers":{"retries":1e400}}'));
  });

  it('decodeTaskMessage: arbitrary headers and bodies', () => {
    const headers = fc.dictionary(
      fc.constantFrom(
        'task',
        'id',
        'eta',
        'expires',
        'retries',
        'timelimit',
        'group_index',
        '__proto__',
        'constructor',
        'x',
      ),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 512 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => new TextEncoder().encode(JSON.stringify(v))),
    );
    const contentType = fc.constantFrom(
      'application/json',
      'application/x-python-serialize',
      'text/plain',
      '',
    );
    fc.assert(
      fc.property(headers, body, contentType, (h, b, type) => {
        onlyMalformed(() => decodeTaskMessage(wireOf(h, b, type)));
      }),
      { numRuns: 1000 },
    );
    prototypeIsClean();
  });

  it('a valid message survives the envelope both ways, whatever its args', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }), fc.string(), (args, id) => {
        const wire = encodeTaskMessage({ id: id || 'x', task: 'prop.task', args: args as never[] });
        const decoded = decodeKombuEnvelope(
          encodeKombuEnvelope(wire, { exchange: '', routing_key: 'q' }, 'tag'),
        );
        expect(decodeTaskMessage(decoded.message).args).toEqual(JSON.parse(JSON.stringify(args)));
      }),
      { numRuns: 300 },
    );
  });
});
