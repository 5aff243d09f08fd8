import { MalformedMessageError } from '../errors/message-errors.js';
import { formatCeleryDate } from './celery-date.js';
import { type CodecRegistry, defaultCodecs } from './codec-registry.js';
import type { JsonValue } from './json-value.js';
import { setOwnProperty } from './own-property.js';
import { pythonArgsRepr, pythonKwargsRepr } from './python-repr.js';
import type { TaskEmbed, TaskMessage } from './task-message.js';
import type { WireMessage } from './wire-message.js';

/** The fields a sender chooses; everything else gets Celery's defaults. */
export type TaskMessageInput = Pick<TaskMessage, 'id' | 'task' | 'args'> &
  Partial<Omit<TaskMessage, 'id' | 'task' | 'args'>>;

const EMPTY_EMBED: TaskEmbed = { callbacks: null, errbacks: null, chain: null, chord: null };

/**
 * Builds the wire form of a task exactly as Celery 5.x `as_task_v2` does: every standard header
 * present (null when unset), body `[args, kwargs, embed]`.
 */
export function encodeTaskMessage(
  input: TaskMessageInput,
  codecs: CodecRegistry = defaultCodecs,
): WireMessage {
  if (!Array.isArray(input.args)) throw new MalformedMessageError('args must be an array');
  const kwargs = input.kwargs ?? {};
  const contentType = input.contentType ?? 'application/json';
  const codec = codecs.get(contentType);
  const headers: Record<string, JsonValue> = {
    lang: 'py',
    task: input.task,
    id: input.id,
    shadow: input.shadow ?? null,
    eta: input.eta ? formatCeleryDate(input.eta) : null,
    expires: input.expires ? formatCeleryDate(input.expires) : null,
    group: input.group ?? null,
    group_index: input.groupIndex ?? null,
    retries: input.retries ?? 0,
    timelimit: input.timeLimit ?? [null, null],
    root_id: input.rootId ?? input.id,
    parent_id: input.parentId ?? null,
    argsrepr: input.argsrepr ?? pythonArgsRepr(input.args),
    kwargsrepr: input.kwargsrepr ?? pythonKwargsRepr(kwargs),
    origin: input.origin ?? defaultOrigin,
    ignore_result: input.ignoreResult ?? false,
  };
  if (input.extraHeaders) {
    // Own keys only, both sides: `key in headers` is true of `__proto__` (and of `constructor`),
    // and a for-in over extra headers would write the keys of their prototype too.
    for (const key of Object.keys(input.extraHeaders)) {
      if (!Object.hasOwn(headers, key)) setOwnProperty(headers, key, input.extraHeaders[key]);
    }
  }
  const message: WireMessage = {
    headers,
    properties: {
      correlation_id: input.correlationId ?? input.id,
      reply_to: input.replyTo ?? '',
      content_type: codec.contentType,
      content_encoding: codec.contentEncoding,
      delivery_mode: 2,
    },
    body: codec.encode([input.args, kwargs, input.embed ?? EMPTY_EMBED]),
  };
  if (input.priority !== undefined) message.properties.priority = input.priority;
  return message;
}

/** `gen<pid>@<host>`, the origin Celery writes; computed once. */
const defaultOrigin = `gen${typeof process !== 'undefined' ? process.pid : 0}@${hostName()}`;

function hostName(): string {
  const env = typeof process !== 'undefined' ? process.env : {};
  return env.HOSTNAME ?? env.COMPUTERNAME ?? 'localhost';
}
