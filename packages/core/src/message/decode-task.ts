import { MalformedMessageError } from '../errors/message-errors.js';
import { parseCeleryDate } from './celery-date.js';
import { type CodecRegistry, defaultCodecs } from './codec-registry.js';
import type { JsonValue } from './json-value.js';
import { setOwnProperty } from './own-property.js';
import type { TaskEmbed, TaskMessage } from './task-message.js';
import type { WireMessage } from './wire-message.js';

const CELERY_HEADERS = new Set([
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
]);

/**
 * Validates and decodes a protocol v2 task message. Every problem (unknown content type, invalid
 * JSON, a missing `task` or `id`, a body that is not `[args, kwargs, embed]`, a bad date) is
 * thrown as MalformedMessageError with a reason; nothing else escapes.
 */
export function decodeTaskMessage(wire: WireMessage, codecs: CodecRegistry = defaultCodecs): TaskMessage {
  const h = wire.headers;
  if (typeof h !== 'object' || h === null) throw new MalformedMessageError('headers missing');
  const task = requiredString(h.task, 'task', ': not a Celery protocol v2 message');
  const id = requiredString(h.id, 'id', '');
  const props = wire.properties ?? ({} as WireMessage['properties']);
  const contentType = props.content_type || 'application/json';
  if (h.compression != null) {
    throw new MalformedMessageError(`compressed bodies (${String(h.compression)}) are not accepted`);
  }
  checkContentEncoding(props.content_encoding);
  const body = codecs.decode(contentType, wire.body);
  if (!Array.isArray(body) || body.length < 2 || body.length > 3) {
    throw new MalformedMessageError('body must be a 3-element array [args, kwargs, embed]');
  }
  const [args, kwargs, embed] = body as [unknown, unknown, unknown];
  if (!Array.isArray(args)) throw new MalformedMessageError('body[0] (args) must be an array');
  if (typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs)) {
    throw new MalformedMessageError('body[1] (kwargs) must be an object');
  }
  if (embed !== undefined && embed !== null && (typeof embed !== 'object' || Array.isArray(embed))) {
    throw new MalformedMessageError('body[2] (embed) must be an object or null');
  }
  const retries = h.retries ?? 0;
  if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0) {
    throw new MalformedMessageError('header "retries" must be a non-negative integer');
  }
  let extraHeaders: Record<string, JsonValue> | undefined;
  for (const key in h) {
    if (!CELERY_HEADERS.has(key)) {
      extraHeaders ??= {};
      setOwnProperty(extraHeaders, key, h[key]);
    }
  }
  return {
    id,
    task,
    args,
    kwargs: kwargs as Record<string, unknown>,
    embed: (embed ?? null) as TaskEmbed | null,
    rootId: optionalString(h.root_id, 'root_id') ?? id,
    parentId: optionalString(h.parent_id, 'parent_id'),
    group: optionalString(h.group, 'group'),
    groupIndex: typeof h.group_index === 'number' ? h.group_index : null,
    retries,
    eta: h.eta == null ? null : parseCeleryDate(h.eta, 'eta'),
    expires: h.expires == null ? null : parseCeleryDate(h.expires, 'expires'),
    timeLimit: parseTimeLimit(h.timelimit),
    argsrepr: typeof h.argsrepr === 'string' ? h.argsrepr : '',
    kwargsrepr: typeof h.kwargsrepr === 'string' ? h.kwargsrepr : '',
    origin: typeof h.origin === 'string' ? h.origin : '',
    ignoreResult: h.ignore_result === true,
    shadow: optionalString(h.shadow, 'shadow'),
    extraHeaders: extraHeaders ?? {},
    correlationId: props.correlation_id ?? id,
    replyTo: props.reply_to ?? '',
    priority: props.priority,
    contentType,
  };
}

/**
 * The content encodings kombu writes for a body it did not transform: `utf-8` for text
 * serializers, `binary` for raw bytes (absent counts as utf-8), and the HTTP `identity`. Anything
 * else (gzip, another charset) means bytes our codecs would misread, so it is refused rather than
 * decoded as if it were plain.
 */
const PLAIN_ENCODINGS = new Set(['', 'utf-8', 'utf8', 'binary', 'identity']);

function checkContentEncoding(encoding: unknown): void {
  if (encoding === undefined || encoding === null) return;
  if (typeof encoding !== 'string') {
    throw new MalformedMessageError(
      `content encoding has the wrong type: ${typeName(encoding as JsonValue)}, expected a string`,
    );
  }
  if (!PLAIN_ENCODINGS.has(encoding.toLowerCase())) {
    throw new MalformedMessageError(
      `content encoding "${encoding}" is not supported (accepted: utf-8, binary, identity)`,
    );
  }
}

/** A header that must be a non-empty string; "missing" only when it is absent, null or empty. */
function requiredString(value: JsonValue | undefined, name: string, missingHint: string): string {
  if (value === undefined || value === null || value === '') {
    throw new MalformedMessageError(`header "${name}" is missing${missingHint}`);
  }
  if (typeof value !== 'string') {
    throw new MalformedMessageError(
      `header "${name}" has the wrong type: ${typeName(value)}, expected a string`,
    );
  }
  return value;
}

function typeName(value: JsonValue): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

function optionalString(value: JsonValue | undefined, name: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new MalformedMessageError(`header "${name}" must be a string`);
  return value;
}

function parseTimeLimit(value: JsonValue | undefined): [number | null, number | null] {
  if (value === undefined || value === null) return [null, null];
  if (!Array.isArray(value) || value.length !== 2) {
    throw new MalformedMessageError('header "timelimit" must be [hard, soft]');
  }
  const [hard, soft] = value;
  for (const limit of [hard, soft]) {
    if (limit !== null && (typeof limit !== 'number' || !(limit >= 0))) {
      throw new MalformedMessageError('header "timelimit" entries must be seconds or null');
    }
  }
  return [hard as number | null, soft as number | null];
}
