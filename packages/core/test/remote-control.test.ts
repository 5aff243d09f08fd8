import { describe, expect, it } from 'vitest';
import {
  decodeControlRequest,
  defineTask,
  encodeControlReply,
  InvalidOptionError,
  isAddressedTo,
  MalformedControlRequestError,
  MemoryTransport,
  RevokedIds,
  UnsupportedFeatureError,
  type WireMessage,
  Worker,
} from '../src/index.js';

function pidboxMessage(body: unknown): WireMessage {
  return {
    headers: { clock: 3, expires: 0 },
    properties: { content_type: 'application/json', content_encoding: 'utf-8' },
    body: Buffer.from(JSON.stringify(body)),
  };
}

describe('RevokedIds (Celery LimitedSet semantics)', () => {
  it('remembers ids until they expire, and re-revoking renews the age', () => {
    let now = 0;
    const ids = new RevokedIds({ expiresSeconds: 10 }, () => now);
    ids.add('a');
    now = 5_000;
    ids.add('b');
    expect(ids.has('a')).toBe(true);
    now = 10_000;
    expect(ids.has('a')).toBe(false);
    expect(ids.has('b')).toBe(true);
    ids.add('b');
    now = 19_000;
    expect(ids.has('b')).toBe(true);
    expect(ids.ids()).toEqual(['b']);
  });

  it('keeps at most maxIds, dropping the oldest revoke first', () => {
    const ids = new RevokedIds({ maxIds: 2 });
    ids.add('a');
    ids.add('b');
    ids.add('a'); // renewed: now the newest
    ids.add('c');
    expect(ids.ids()).toEqual(['a', 'c']);
    expect(ids.has('b')).toBe(false);
    expect(ids.size).toBe(2);
  });

  it('refuses bounds that make no sense, naming the option', () => {
    expect(() => new RevokedIds({ maxIds: 0 })).toThrow(/control\.revokes\.maxIds/);
    expect(() => new RevokedIds({ expiresSeconds: -1 })).toThrow(InvalidOptionError);
  });
});

describe('pidbox messages', () => {
  it("decodes kombu's Mailbox._publish body", () => {
    const request = decodeControlRequest(
      pidboxMessage({
        method: 'revoke',
        arguments: { task_id: ['x'], terminate: false },
        destination: ['w1@h'],
        pattern: null,
        matcher: null,
        ticket: 't-1',
        reply_to: { exchange: 'reply.celery.pidbox', routing_key: 'oid-1' },
      }),
    );
    expect(request).toEqual({
      method: 'revoke',
      arguments: { task_id: ['x'], terminate: false },
      destination: ['w1@h'],
      pattern: null,
      matcher: null,
      ticket: 't-1',
      replyTo: { exchange: 'reply.celery.pidbox', routingKey: 'oid-1' },
    });
  });

  it('refuses what is not a command', () => {
    expect(() => decodeControlRequest(pidboxMessage([1]))).toThrow(MalformedControlRequestError);
    expect(() => decodeControlRequest(pidboxMessage({ arguments: {} }))).toThrow(/no method/);
    const pickled = {
      ...pidboxMessage({}),
      properties: { content_type: 'application/x-python-serialize', content_encoding: 'binary' },
    };
    expect(() => decodeControlRequest(pickled)).toThrow(/only JSON/);
  });

  it('addresses by destination, then by glob or pcre pattern, else everyone', () => {
    const base = decodeControlRequest(pidboxMessage({ method: 'ping' }));
    expect(isAddressedTo(base, 'w1@h')).toBe(true);
    expect(isAddressedTo({ ...base, destination: ['w2@h'] }, 'w1@h')).toBe(false);
    expect(isAddressedTo({ ...base, destination: ['w2@h', 'w1@h'] }, 'w1@h')).toBe(true);
    expect(isAddressedTo({ ...base, pattern: 'w?@*', matcher: 'glob' }, 'w1@h')).toBe(true);
    expect(isAddressedTo({ ...base, pattern: 'x*', matcher: 'glob' }, 'w1@h')).toBe(false);
    expect(isAddressedTo({ ...base, pattern: '^w\\d@', matcher: 'pcre' }, 'w1@h')).toBe(true);
  });

  it("replies {hostname: reply} with the caller's ticket", () => {
    const reply = encodeControlReply('w1@h', { ok: 'pong' }, 't-1', 7);
    expect(reply.headers).toEqual({ ticket: 't-1', clock: 7 });
    expect(JSON.parse(Buffer.from(reply.body).toString('utf8'))).toEqual({ 'w1@h': { ok: 'pong' } });
  });
});

describe('Worker({ control })', () => {
  it('is refused on a transport that cannot broadcast', () => {
    const task = defineTask({ name: 'control.unit', handler: () => 1 });
    const transport = new MemoryTransport();
    expect(() => new Worker({ transport, tasks: [task], control: true })).toThrow(UnsupportedFeatureError);
    expect(() => new Worker({ transport, tasks: [task] })).not.toThrow();
  });
});
