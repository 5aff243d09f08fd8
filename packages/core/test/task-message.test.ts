import { describe, expect, it } from 'vitest';
import { type JsonValue, MalformedMessageError, type WireMessage } from '../src/index.js';
import {
  decodeKombuEnvelope,
  decodeTaskMessage,
  encodeTaskMessage,
  pythonArgsRepr,
  pythonKwargsRepr,
} from '../src/transport-authors.js';

const ID = '11111111-1111-1111-1111-111111111111';

/** Header names, in order, of the `add.apply_async((2, 3))` example in docs/celery-wire.md §1.5. */
const CELERY_HEADER_KEYS = [
  'lang',
  'task',
  'id',
  'shadow',
  'eta',
  'expires',
  'group',
  'group_index',
  'retries',
  'timelimit',
  'root_id',
  'parent_id',
  'argsrepr',
  'kwargsrepr',
  'origin',
  'ignore_result',
];

/** Verbatim Redis list element pushed by Python Celery 5.2.6 for `add.delay(2, 3)` (docs/celery-wire.md §9.1). */
const PYTHON_ENVELOPE =
  '{"body": "W1syLCAzXSwge30sIHsiY2FsbGJhY2tzIjogbnVsbCwgImVycmJhY2tzIjogbnVsbCwgImNoYWluIjogbnVsbCwgImNob3JkIjogbnVsbH1d", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"lang": "py", "task": "app.add", "id": "d447abe7-5595-4c51-ab20-9a0a74f4ec3d", "shadow": null, "eta": null, "expires": null, "group": null, "group_index": null, "retries": 0, "timelimit": [null, null], "root_id": "d447abe7-5595-4c51-ab20-9a0a74f4ec3d", "parent_id": null, "argsrepr": "(2, 3)", "kwargsrepr": "{}", "origin": "gen7629@vm", "ignore_result": false}, "properties": {"correlation_id": "d447abe7-5595-4c51-ab20-9a0a74f4ec3d", "reply_to": "8c1b8c90-bdb4-3ee3-b90f-b5e959859e18", "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "celery"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "eff7ae77-a5c0-4f69-8f81-ebb865a99b74"}}';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const bodyJson = (wire: WireMessage): unknown => JSON.parse(new TextDecoder().decode(wire.body));

/** A valid encoded `tasks.add(2, 3)` to break in one place at a time. */
function validWire(): WireMessage {
  return encodeTaskMessage({ id: ID, task: 'tasks.add', args: [2, 3] });
}

function withHeaders(changes: Record<string, JsonValue | undefined>): WireMessage {
  const wire = validWire();
  const headers: Record<string, JsonValue> = { ...wire.headers };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete headers[key];
    else headers[key] = value;
  }
  return { ...wire, headers };
}

function withBody(text: string): WireMessage {
  return { ...validWire(), body: utf8(text) };
}

function decodeError(wire: WireMessage): MalformedMessageError {
  try {
    decodeTaskMessage(wire);
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedMessageError);
    return error as MalformedMessageError;
  }
  throw new Error('decodeTaskMessage accepted a malformed message');
}

describe('encodeTaskMessage', () => {
  it('writes every Celery protocol v2 header, in Celery order, as in the 5.2.6 example', () => {
    const wire = validWire();
    expect(Object.keys(wire.headers)).toEqual(CELERY_HEADER_KEYS);
    expect(wire.headers).toMatchObject({
      lang: 'py',
      task: 'tasks.add',
      id: ID,
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      root_id: ID,
      parent_id: null,
      argsrepr: '(2, 3)',
      kwargsrepr: '{}',
      ignore_result: false,
    });
    expect(wire.headers.origin).toMatch(/^gen\d+@.+$/);
  });

  it('writes the body [args, kwargs, embed] with the empty embed Celery writes', () => {
    expect(bodyJson(validWire())).toEqual([
      [2, 3],
      {},
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
  });

  it('writes the same body value as the Python 5.2.6 example', () => {
    const python = decodeKombuEnvelope(PYTHON_ENVELOPE).message;
    expect(bodyJson(validWire())).toEqual(bodyJson(python));
  });

  it('writes the properties Celery writes', () => {
    expect(validWire().properties).toEqual({
      correlation_id: ID,
      reply_to: '',
      content_type: 'application/json',
      content_encoding: 'utf-8',
      delivery_mode: 2,
    });
  });

  it('writes eta and expires with six fraction digits and +00:00', () => {
    const wire = encodeTaskMessage({
      id: ID,
      task: 't',
      args: [],
      eta: new Date(Date.UTC(2026, 10, 24, 2, 12, 18, 92)),
      expires: new Date(Date.UTC(2026, 10, 24, 3, 0, 0, 0)),
    });
    expect(wire.headers.eta).toBe('2026-11-24T02:12:18.092000+00:00');
    expect(wire.headers.expires).toBe('2026-11-24T03:00:00.000000+00:00');
  });

  it('keeps timelimit as [hard, soft]', () => {
    const wire = encodeTaskMessage({ id: ID, task: 't', args: [], timeLimit: [60, 30] });
    expect(wire.headers.timelimit).toEqual([60, 30]);
  });

  it('sets the priority property only when a priority is given', () => {
    expect('priority' in validWire().properties).toBe(false);
    expect(encodeTaskMessage({ id: ID, task: 't', args: [], priority: 7 }).properties.priority).toBe(7);
  });

  it('adds extra headers but never lets them overwrite a Celery header', () => {
    const wire = encodeTaskMessage({
      id: ID,
      task: 'tasks.add',
      args: [],
      extraHeaders: { 'x-tenant': 'acme', task: 'evil.task' },
    });
    expect(wire.headers['x-tenant']).toBe('acme');
    expect(wire.headers.task).toBe('tasks.add');
  });

  it('refuses args that are not an array', () => {
    expect(() => encodeTaskMessage({ id: ID, task: 't', args: 'nope' as unknown as unknown[] })).toThrow(
      MalformedMessageError,
    );
  });
});

describe('pythonArgsRepr / pythonKwargsRepr', () => {
  it('writes Python tuple and dict reprs', () => {
    expect(pythonArgsRepr([2, 3])).toBe('(2, 3)');
    expect(pythonArgsRepr([1])).toBe('(1,)');
    expect(pythonArgsRepr([])).toBe('()');
    expect(pythonArgsRepr(['a', null, true, false, [1, 2], { k: 'v' }])).toBe(
      "('a', None, True, False, [1, 2], {'k': 'v'})",
    );
    expect(pythonKwargsRepr({})).toBe('{}');
    expect(pythonKwargsRepr({ x: 1, y: 'z' })).toBe("{'x': 1, 'y': 'z'}");
  });

  it('cuts the repr to 1024 characters as Celery does', () => {
    expect(pythonArgsRepr(['x'.repeat(5000)])).toHaveLength(1024);
  });
});

describe('decodeTaskMessage', () => {
  it('round-trips everything encodeTaskMessage writes', () => {
    const eta = new Date(Date.UTC(2026, 10, 24, 2, 12, 18, 92));
    const expires = new Date(Date.UTC(2026, 10, 25, 0, 0, 0, 0));
    const wire = encodeTaskMessage({
      id: ID,
      task: 'tasks.add',
      args: [2, 'three', { four: [4] }],
      kwargs: { five: 5 },
      rootId: 'root',
      parentId: 'parent',
      group: 'group-1',
      groupIndex: 2,
      retries: 3,
      eta,
      expires,
      timeLimit: [60, 30],
      ignoreResult: true,
      shadow: 'alias',
      extraHeaders: { 'x-tenant': 'acme' },
      priority: 4,
      replyTo: 'reply-queue',
      correlationId: 'corr',
    });
    const decoded = decodeTaskMessage(wire);
    expect(decoded).toMatchObject({
      id: ID,
      task: 'tasks.add',
      args: [2, 'three', { four: [4] }],
      kwargs: { five: 5 },
      embed: { callbacks: null, errbacks: null, chain: null, chord: null },
      rootId: 'root',
      parentId: 'parent',
      group: 'group-1',
      groupIndex: 2,
      retries: 3,
      timeLimit: [60, 30],
      argsrepr: "(2, 'three', {'four': [4]})",
      kwargsrepr: "{'five': 5}",
      ignoreResult: true,
      shadow: 'alias',
      extraHeaders: { 'x-tenant': 'acme' },
      priority: 4,
      replyTo: 'reply-queue',
      correlationId: 'corr',
      contentType: 'application/json',
    });
    expect(decoded.eta?.getTime()).toBe(eta.getTime());
    expect(decoded.expires?.getTime()).toBe(expires.getTime());
  });

  it('decodes the verbatim envelope Python Celery 5.2.6 pushed to Redis', () => {
    const { message } = decodeKombuEnvelope(PYTHON_ENVELOPE);
    const task = decodeTaskMessage(message);
    expect(task).toMatchObject({
      task: 'app.add',
      id: 'd447abe7-5595-4c51-ab20-9a0a74f4ec3d',
      args: [2, 3],
      kwargs: {},
      rootId: 'd447abe7-5595-4c51-ab20-9a0a74f4ec3d',
      retries: 0,
      eta: null,
      expires: null,
      timeLimit: [null, null],
      argsrepr: '(2, 3)',
      origin: 'gen7629@vm',
      replyTo: '8c1b8c90-bdb4-3ee3-b90f-b5e959859e18',
      correlationId: 'd447abe7-5595-4c51-ab20-9a0a74f4ec3d',
      extraHeaders: {},
    });
  });

  it('accepts a two-element body (no embed) and a null embed', () => {
    expect(decodeTaskMessage(withBody('[[1], {}]')).embed).toBeNull();
    expect(decodeTaskMessage(withBody('[[1], {}, null]')).embed).toBeNull();
  });

  it('defaults root_id to the id and retries to 0 when absent', () => {
    const decoded = decodeTaskMessage(withHeaders({ root_id: undefined, retries: undefined }));
    expect(decoded.rootId).toBe(ID);
    expect(decoded.retries).toBe(0);
  });

  it('accepts Python-written eta with another offset and kombu tagged dates', () => {
    const decoded = decodeTaskMessage(
      withHeaders({
        eta: '2026-11-24T03:12:18.092240+01:00',
        expires: { __type__: 'datetime', __value__: '2026-11-24T02:12:18.092240+00:00' },
      }),
    );
    expect(decoded.eta?.toISOString()).toBe('2026-11-24T02:12:18.092Z');
    expect(decoded.expires?.toISOString()).toBe('2026-11-24T02:12:18.092Z');
  });

  it.each<[string, () => WireMessage, RegExp]>([
    ['body is not JSON', () => withBody('{not json'), /not valid application\/json/],
    [
      'body is not valid UTF-8',
      () => ({ ...validWire(), body: new Uint8Array([0xff, 0xfe, 0x5b]) }),
      /not valid/,
    ],
    [
      'a JSON string holds invalid UTF-8',
      () => ({
        ...validWire(),
        body: Uint8Array.from([...Buffer.from('[["'), 0xff, ...Buffer.from('"], {}, null]')]),
      }),
      /not valid UTF-8/,
    ],
    ['body is an object', () => withBody('{"args": [1]}'), /body must be/],
    ['body is a string', () => withBody('"hello"'), /body must be/],
    ['body is a one-element array', () => withBody('[[1]]'), /body must be/],
    ['body has four elements', () => withBody('[[1], {}, null, 4]'), /body must be/],
    ['args is not an array', () => withBody('[{"a": 1}, {}, null]'), /args/],
    ['kwargs is an array', () => withBody('[[1], [], null]'), /kwargs/],
    ['kwargs is null', () => withBody('[[1], null, null]'), /kwargs/],
    ['embed is a number', () => withBody('[[1], {}, 5]'), /embed/],
    ['task header is missing', () => withHeaders({ task: undefined }), /"task"/],
    ['task header is empty', () => withHeaders({ task: '' }), /"task"/],
    ['task header is a number', () => withHeaders({ task: 42 }), /"task"/],
    ['id header is missing', () => withHeaders({ id: undefined }), /"id"/],
    ['retries is negative', () => withHeaders({ retries: -1 }), /retries/],
    ['retries is a fraction', () => withHeaders({ retries: 1.5 }), /retries/],
    ['retries is a string', () => withHeaders({ retries: '1' }), /retries/],
    ['eta is not a date', () => withHeaders({ eta: 'tomorrow' }), /eta/],
    ['expires is a number', () => withHeaders({ expires: 1234 }), /expires/],
    ['timelimit has one entry', () => withHeaders({ timelimit: [30] }), /timelimit/],
    ['timelimit is negative', () => withHeaders({ timelimit: [-1, null] }), /timelimit/],
    ['root_id is a number', () => withHeaders({ root_id: 7 }), /root_id/],
    [
      'content type is not accepted',
      () => ({
        ...validWire(),
        properties: { ...validWire().properties, content_type: 'application/x-python-serialize' },
      }),
      /content type "application\/x-python-serialize" is not accepted/,
    ],
    ['body is compressed', () => withHeaders({ compression: 'application/x-gzip' }), /compressed/],
  ])('throws MalformedMessageError with a reason when the %s', (_case, make, reason) => {
    const error = decodeError(make());
    expect(error.code).toBe('MALFORMED_MESSAGE');
    expect(error.reason).toMatch(reason);
    expect(error).not.toBeInstanceOf(SyntaxError);
    expect(error).not.toBeInstanceOf(TypeError);
  });

  it.each<[string, JsonValue, RegExp]>([
    ['a number', 42, /header "task" has the wrong type: number, expected a string/],
    ['an object', { name: 'tasks.add' }, /header "task" has the wrong type: object, expected a string/],
    ['an array', ['tasks.add'], /header "task" has the wrong type: array, expected a string/],
    ['a boolean', true, /header "task" has the wrong type: boolean, expected a string/],
  ])('says a task header that is %s has the wrong type, not that it is missing', (_case, task, reason) => {
    const error = decodeError(withHeaders({ task }));
    expect(error.reason).toMatch(reason);
    expect(error.reason).not.toMatch(/missing/);
  });

  it('says a missing or null task header is missing, and an id of the wrong type names its type', () => {
    expect(decodeError(withHeaders({ task: undefined })).reason).toMatch(/header "task" is missing/);
    expect(decodeError(withHeaders({ task: null })).reason).toMatch(/header "task" is missing/);
    expect(decodeError(withHeaders({ id: 7 })).reason).toMatch(
      /header "id" has the wrong type: number, expected a string/,
    );
  });

  it.each(['gzip', 'deflate', 'br', 'utf-16', 'base64'])(
    'refuses a body with content_encoding %s, naming the encoding',
    (encoding) => {
      const wire = validWire();
      const error = decodeError({ ...wire, properties: { ...wire.properties, content_encoding: encoding } });
      expect(error.code).toBe('MALFORMED_MESSAGE');
      expect(error.reason).toContain(`content encoding "${encoding}" is not supported`);
    },
  );

  it.each(['utf-8', 'UTF-8', 'utf8', 'binary', 'identity', ''])(
    'accepts content_encoding %j, as kombu and Celery send it',
    (encoding) => {
      const wire = validWire();
      const decoded = decodeTaskMessage({
        ...wire,
        properties: { ...wire.properties, content_encoding: encoding },
      });
      expect(decoded.args).toEqual([2, 3]);
    },
  );

  it('accepts a message whose properties carry no content_encoding (kombu reads it as utf-8)', () => {
    const wire = validWire();
    const { content_encoding: _absent, ...properties } = wire.properties;
    const decoded = decodeTaskMessage({ ...wire, properties: properties as WireMessage['properties'] });
    expect(decoded.args).toEqual([2, 3]);
  });

  it('keeps the JSON parse error as the cause', () => {
    const error = decodeError(withBody('{not json'));
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('keeps non-Celery headers and drops none of them', () => {
    const decoded = decodeTaskMessage(withHeaders({ 'x-trace': 'abc', stamps: { a: 1 } }));
    expect(decoded.extraHeaders).toEqual({ 'x-trace': 'abc', stamps: { a: 1 } });
  });
});
