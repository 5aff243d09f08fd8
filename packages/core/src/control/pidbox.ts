import type { JsonValue } from '../message/json-value.js';
import type { WireMessage } from '../message/wire-message.js';
import type { BroadcastExchange } from '../transport/broadcast.js';

/**
 * kombu's `Mailbox('celery', type='fanout')` as Celery's `app.control` declares it: commands are
 * broadcast on the `celery.pidbox` fanout exchange (transient, not durable), with no routing key.
 */
export const PIDBOX_EXCHANGE: BroadcastExchange = Object.freeze({
  name: 'celery.pidbox',
  kind: 'fanout',
  durable: false,
});

/** Where a reply goes: the caller's `reply_to`, on a direct exchange (`reply.celery.pidbox`). */
export function replyExchange(name: string): BroadcastExchange {
  return { name, kind: 'direct', durable: false };
}

/** One command as kombu's `Mailbox._publish` sends it. */
export interface ControlRequest {
  method: string;
  arguments: Record<string, JsonValue>;
  /** Only these node names run it; null means every node (unless `pattern` says otherwise). */
  destination: string[] | null;
  pattern: string | null;
  /** `glob` or `pcre`, for `pattern`. */
  matcher: string | null;
  /** Present when the caller waits for replies: they carry it in their `ticket` header. */
  ticket: string | null;
  replyTo: { exchange: string; routingKey: string } | null;
}

/** A pidbox message that is not a command: told to the `onError` of the mailbox. */
export class MalformedControlRequestError extends Error {
  override readonly name = 'MalformedControlRequestError';
}

/** Decodes a pidbox message (Celery sends JSON: `task_serializer`). */
export function decodeControlRequest(message: WireMessage): ControlRequest {
  const type = message.properties.content_type;
  if (type !== undefined && type !== 'application/json') {
    throw new MalformedControlRequestError(`control message in ${String(type)}; only JSON is understood`);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(message.body).toString('utf8'));
  } catch (error) {
    throw new MalformedControlRequestError(`control message is not JSON: ${String(error)}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new MalformedControlRequestError('control message is not an object');
  }
  const b = body as Record<string, unknown>;
  if (typeof b.method !== 'string') throw new MalformedControlRequestError('control message has no method');
  const args = b.arguments;
  const replyTo = b.reply_to as Record<string, unknown> | null | undefined;
  return {
    method: b.method,
    arguments:
      args !== null && typeof args === 'object' && !Array.isArray(args)
        ? (args as Record<string, JsonValue>)
        : {},
    destination: Array.isArray(b.destination) ? b.destination.map(String) : null,
    pattern: typeof b.pattern === 'string' ? b.pattern : null,
    matcher: typeof b.matcher === 'string' ? b.matcher : null,
    ticket: typeof b.ticket === 'string' ? b.ticket : null,
    replyTo:
      replyTo && typeof replyTo.exchange === 'string' && typeof replyTo.routing_key === 'string'
        ? { exchange: replyTo.exchange, routingKey: replyTo.routing_key }
        : null,
  };
}

/** kombu's `Node.handle_message`: a destination list wins, then a pattern, else every node. */
export function isAddressedTo(request: ControlRequest, hostname: string): boolean {
  if (request.destination !== null && request.destination.length > 0) {
    return request.destination.includes(hostname);
  }
  if (request.pattern && request.matcher) {
    if (request.matcher === 'pcre') return new RegExp(request.pattern).test(hostname);
    if (request.matcher === 'glob') return globToRegExp(request.pattern).test(hostname);
    return false;
  }
  return true;
}

/** The reply as kombu's `Node.reply` sends it: `{hostname: reply}`, header `ticket` (and `clock`). */
export function encodeControlReply(
  hostname: string,
  reply: JsonValue,
  ticket: string,
  clock: number,
): WireMessage {
  return {
    headers: { ticket, clock },
    properties: { content_type: 'application/json', content_encoding: 'utf-8', delivery_mode: 1 },
    body: Buffer.from(JSON.stringify({ [hostname]: reply }), 'utf8'),
  };
}

/** Python's `fnmatch`: `*`, `?` and `[…]`. */
function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i]!;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) source += '\\[';
      else {
        const inner = glob.slice(i + 1, end);
        source += `[${inner.startsWith('!') ? `^${inner.slice(1)}` : inner}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}
