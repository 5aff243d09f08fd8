import type { ConnectionOptions } from 'node:tls';
import { hasUnencodedCredentials, InvalidOptionError, redactUrl } from '@conveyor/core';
import { printedWithoutSecrets } from '@conveyor/core/transport';
import { resolveAmqpTls } from './amqp-tls.js';

/** Options of AmqpTransport. */
export interface AmqpTransportOptions {
  /**
   * `amqp://user:password@host:5672/vhost` or `amqps://` (TLS). Default
   * `amqp://guest:guest@127.0.0.1:5672`. With `amqps://`, the tlsCa, tlsCert and tlsKey query
   * parameters name PEM files (a private CA, a client certificate and its key), read when the
   * transport is built.
   */
  url?: string;
  /**
   * TLS options for amqps://, over what the URL names: `ca` (PEM: a private CA), `cert` and `key`
   * (PEM: a client certificate, for a listener with `fail_if_no_peer_cert`), `servername`... The
   * server's certificate is always verified unless `rejectUnauthorized: false` says otherwise.
   * Checked when the transport is built: InvalidOptionError names `tls.ca`, `tls.cert` or `tls.key`.
   */
  tls?: ConnectionOptions;
  /** AMQP heartbeat in seconds (0 disables). Default 30. */
  heartbeatSeconds?: number;
  /** `classic` (Celery's default, shares queues with Python) or `quorum` (replicated; delivery limit). Default classic. */
  queueType?: 'classic' | 'quorum';
  /** Quorum queues: after this many redeliveries the broker drops or dead-letters the message. */
  deliveryLimit?: number;
  /**
   * Priority levels of the queues this transport declares (`x-max-priority` = levels - 1). Must
   * match what Python Celery declares (`task_queue_max_priority`). Default 0: no priorities,
   * Celery's default. Classic queues only.
   */
  priorityLevels?: number;
  /**
   * The server's `consumer_timeout` in ms (RabbitMQ closes a channel whose delivery stays unacked
   * longer). Informational: hard time limits should stay below it. Default 1 800 000 (30 min).
   */
  consumerTimeoutMs?: number;
  /** How long `connect()` may take. Default 10 s. */
  connectTimeoutMs?: number;
  /** How long a publish waits for a connection that is being re-established. Default 10 s. */
  publishTimeoutMs?: number;
  /** Reconnect back-off after a dropped connection. Defaults 100 ms doubling to 5 s. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Largest body accepted. Default 16 MiB (RabbitMQ 3.10 accepts up to 128 MiB). */
  maxMessageBytes?: number;
  /**
   * `false`: declare nothing (queues, exchanges, bindings, the delay ladder), only check that the
   * queue exists, so a producer needs no configure or read permission (see the README's "Least
   * privilege"); a worker of the queue (or an administrator) declares it. Default true.
   */
  declare?: boolean;
}

/** Options with defaults applied. */
export interface ResolvedAmqpOptions {
  url: string;
  tls: ConnectionOptions | undefined;
  heartbeatSeconds: number;
  queueType: 'classic' | 'quorum';
  deliveryLimit: number | undefined;
  priorityLevels: number;
  consumerTimeoutMs: number;
  connectTimeoutMs: number;
  publishTimeoutMs: number;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  maxMessageBytes: number;
  declare: boolean;
}

const KNOWN = new Set([
  'url',
  'tls',
  'heartbeatSeconds',
  'queueType',
  'deliveryLimit',
  'priorityLevels',
  'consumerTimeoutMs',
  'connectTimeoutMs',
  'publishTimeoutMs',
  'reconnect',
  'maxMessageBytes',
  'declare',
]);

/** Validates options; each error names the option. */
export function resolveAmqpOptions(options: AmqpTransportOptions): ResolvedAmqpOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidOptionError(key, 'unknown AmqpTransport option');
  }
  const url = options.url ?? 'amqp://guest:guest@127.0.0.1:5672';
  if (!/^amqps?:\/\//i.test(url)) throw new InvalidOptionError('url', 'must start with amqp:// or amqps://');
  // amqplib would read part of such a password as host or port, and its errors would quote it.
  if (hasUnencodedCredentials(url)) {
    throw new InvalidOptionError(
      'url',
      'the user name or password holds a character it must URL-encode ("/", "?", "#", "@", "%"): encode them with encodeURIComponent',
    );
  }
  const queueType = options.queueType ?? 'classic';
  if (queueType !== 'classic' && queueType !== 'quorum') {
    throw new InvalidOptionError('queueType', 'must be "classic" or "quorum"');
  }
  // From the URL too, so `conveyor send --priority` and `conveyor worker`, which only have a URL, can
  // use (and declare alike) a priority queue; amqplib ignores query parameters it does not know.
  const priorityLevels = options.priorityLevels ?? urlPriorityLevels(url) ?? 0;
  if (
    !Number.isInteger(priorityLevels) ||
    priorityLevels < 0 ||
    priorityLevels === 1 ||
    priorityLevels > 256
  ) {
    throw new InvalidOptionError('priorityLevels', 'must be 0 (none) or an integer from 2 to 256');
  }
  if (queueType === 'quorum' && priorityLevels > 0) {
    throw new InvalidOptionError('priorityLevels', 'quorum queues on RabbitMQ 3.10 have no priorities');
  }
  if (options.deliveryLimit !== undefined && queueType !== 'quorum') {
    throw new InvalidOptionError('deliveryLimit', 'needs queueType "quorum"');
  }
  const resolved: ResolvedAmqpOptions = {
    url,
    tls: resolveAmqpTls(url, options.tls),
    heartbeatSeconds: options.heartbeatSeconds ?? 30,
    queueType,
    deliveryLimit: options.deliveryLimit,
    priorityLevels,
    consumerTimeoutMs: options.consumerTimeoutMs ?? 1_800_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
    reconnectInitialDelayMs: options.reconnect?.initialDelayMs ?? 100,
    reconnectMaxDelayMs: options.reconnect?.maxDelayMs ?? 5000,
    maxMessageBytes: options.maxMessageBytes ?? 16 * 1024 * 1024,
    declare: options.declare ?? urlDeclare(url) ?? true,
  };
  if (typeof resolved.declare !== 'boolean') throw new InvalidOptionError('declare', 'must be true or false');
  for (const key of [
    'heartbeatSeconds',
    'consumerTimeoutMs',
    'connectTimeoutMs',
    'publishTimeoutMs',
    'maxMessageBytes',
  ] as const) {
    const value = resolved[key];
    if (!(Number.isFinite(value) && value >= 0)) throw new InvalidOptionError(key, 'must be a number >= 0');
  }
  // console.log(transport) and JSON loggers must not print the password (in the URL).
  return printedWithoutSecrets(resolved);
}

/** The `priorityLevels` query parameter of an amqp:// URL, if any (validated with the option). */
function urlPriorityLevels(url: string): number | undefined {
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const value = new URLSearchParams(query).get('priorityLevels');
  return value === null ? undefined : /^\d+$/.test(value) ? Number(value) : Number.NaN;
}

/** The `declare` query parameter of an amqp:// URL (`false` or `true`), for URL-only callers (the CLI). */
function urlDeclare(url: string): boolean | undefined {
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const value = new URLSearchParams(query).get('declare');
  if (value === null) return undefined;
  if (value === 'false' || value === 'true') return value === 'true';
  throw new InvalidOptionError('declare', `the URL parameter must be true or false, got "${value}"`);
}

/** The URL without its password, for errors and logs. */
export function describeUrl(url: string): string {
  return redactUrl(url);
}
