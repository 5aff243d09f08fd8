import { describe, expect, it } from 'vitest';
import {
  InvalidOptionError,
  MessageTooLargeError,
  UnsupportedFeatureError,
  type WireMessage,
} from '../src/index.js';
import { checkPublish, defineCapabilities } from '../src/transport-authors.js';

const message = (bytes: number, priority?: number): WireMessage => ({
  headers: {},
  properties: {
    content_type: 'text/plain',
    content_encoding: 'utf-8',
    ...(priority === undefined ? {} : { priority }),
  },
  body: new Uint8Array(bytes),
});

describe('defineCapabilities', () => {
  it('claims nothing that is not given', () => {
    expect(defineCapabilities()).toEqual({
      delay: { mode: 'none', maxDelayMs: null, precisionMs: 0 },
      priorityLevels: 0,
      ordering: 'none',
      deadLetter: false,
      maxMessageBytes: 256 * 1024,
      batchPublish: false,
      visibilityExtension: false,
      deduplication: false,
      redelivery: { trigger: 'immediate', visibilityTimeoutMs: null },
      broadcast: false,
    });
  });

  it('merges nested claims with the defaults', () => {
    const caps = defineCapabilities({ delay: { mode: 'native' }, redelivery: { visibilityTimeoutMs: 1000 } });
    expect(caps.delay).toEqual({ mode: 'native', maxDelayMs: null, precisionMs: 0 });
    expect(caps.redelivery).toEqual({ trigger: 'immediate', visibilityTimeoutMs: 1000 });
  });

  it('is deeply frozen', () => {
    const caps = defineCapabilities({ delay: { mode: 'native' } });
    expect(Object.isFrozen(caps)).toBe(true);
    expect(Object.isFrozen(caps.delay)).toBe(true);
    expect(Object.isFrozen(caps.redelivery)).toBe(true);
  });
});

describe('checkPublish', () => {
  const bare = defineCapabilities({ maxMessageBytes: 10 });
  const rich = defineCapabilities({
    maxMessageBytes: 10,
    priorityLevels: 4,
    delay: { mode: 'native', maxDelayMs: 1000 },
    deduplication: true,
    ordering: 'key',
  });

  it('accepts what the manifest claims', () => {
    expect(() =>
      checkPublish('t', rich, message(10), {
        priority: 3,
        delayMs: 1000,
        deduplicationId: 'd',
        orderingKey: 'k',
      }),
    ).not.toThrow();
  });

  it('accepts priority 0 and delay 0 everywhere: they ask for nothing', () => {
    expect(() => checkPublish('t', bare, message(1), { priority: 0, delayMs: 0 })).not.toThrow();
  });

  it.each<[string, WireMessage, Parameters<typeof checkPublish>[3], string]>([
    ['a priority', message(1), { priority: 1 }, 'priority'],
    ['a priority in the message properties', message(1, 2), undefined, 'priority'],
    ['a delay', message(1), { delayMs: 5 }, 'delay'],
    ['a deduplication id', message(1), { deduplicationId: 'd' }, 'deduplication'],
    ['an ordering key', message(1), { orderingKey: 'k' }, 'ordering'],
  ])(
    'refuses %s the manifest does not claim with UnsupportedFeatureError',
    (_case, wire, options, feature) => {
      let error: unknown;
      try {
        checkPublish('bare', bare, wire, options);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(UnsupportedFeatureError);
      expect(error).toMatchObject({ feature, transport: 'bare' });
      expect((error as Error).message).toContain('transport "bare"');
    },
  );

  it('refuses a delay over maxDelayMs', () => {
    expect(() => checkPublish('t', rich, message(1), { delayMs: 1001 })).toThrow(UnsupportedFeatureError);
  });

  it.each([[4], [-1], [0.5]])(
    'refuses priority %d outside the claimed levels with InvalidOptionError',
    (priority) => {
      expect(() => checkPublish('t', rich, message(1), { priority })).toThrow(InvalidOptionError);
    },
  );

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY]])(
    'refuses delayMs %d with InvalidOptionError',
    (delayMs) => {
      expect(() => checkPublish('t', rich, message(1), { delayMs })).toThrow(InvalidOptionError);
    },
  );

  it('refuses a body over maxMessageBytes first', () => {
    expect(() => checkPublish('t', bare, message(11), { priority: 3 })).toThrow(MessageTooLargeError);
  });
});
