import type { ConnectionOptions } from 'node:tls';
import { hasUnencodedCredentials, InvalidBrokerUrlError, InvalidOptionError } from '@conveyor/core';
import {
  checkTlsOptions,
  isTlsUrlParameter,
  printedWithoutSecrets,
  tlsFromUrlParameters,
} from '@conveyor/core/transport';
import type { RedisOptions } from 'ioredis';
import type { RedisWarning } from './server-durability.js';

/** A host and port. */
export interface RedisNode {
  host: string;
  port: number;
}

/** Options of RedisTransport (and of the result backend's connection). */
export interface RedisTransportOptions {
  /**
   * `redis://[user:password@]host:port/db`, `rediss://` for TLS, `redis+cluster://h:p,h:p`,
   * `redis+sentinel://h:p,h:p/master/db`. Query: keyPrefix, visibilityTimeoutMs, pollIntervalMs,
   * connectionName; with `rediss://`, tlsCa, tlsCert and tlsKey: paths of PEM files (a private CA,
   * a client certificate and its key), read when the transport is built.
   */
  url?: string;
  host?: string;
  port?: number;
  /** Database number (not with Cluster). */
  db?: number;
  /** ACL user name. */
  username?: string;
  password?: string;
  /**
   * TLS. `true` verifies the server against Node's default CAs; Node TLS options add `ca` (PEM: a
   * private CA), `cert` and `key` (PEM: a client certificate, for `tls-auth-clients`). The server's
   * certificate is always verified unless `rejectUnauthorized: false` says otherwise. Checked when
   * the transport is built: InvalidOptionError names `tls.ca`, `tls.cert` or `tls.key`.
   */
  tls?: boolean | ConnectionOptions;
  /** Seed nodes of a Redis Cluster. Keys then carry hash tags (`{queue}`) so a queue lives in one slot. */
  cluster?: RedisNode[];
  /** Sentinels to ask for the master named `sentinelName`. */
  sentinels?: RedisNode[];
  sentinelName?: string;
  sentinelPassword?: string;
  /** Prefix of every key and channel (kombu's `global_keyprefix`; must match Python's if shared). */
  keyPrefix?: string;
  /** A delivery not settled (nor extended) within this time is handed out again. Default 60 s. */
  visibilityTimeoutMs?: number;
  /**
   * How often an idle consumer looks for work that arrived without a wake-up: messages pushed by
   * Python Celery, expired deliveries of crashed workers. Conveyor publishes wake consumers at once.
   * Default 200 ms.
   */
  pollIntervalMs?: number;
  /** Largest body accepted. Default 4 MiB. */
  maxMessageBytes?: number;
  /** How long `connect()` may take before it fails with BrokerConnectionError. Default 10 s. */
  connectTimeoutMs?: number;
  /** Name shown by CLIENT LIST (and usable with CLIENT KILL). Default `conveyor`. */
  connectionName?: string;
  /** Extra ioredis options, applied last. */
  redis?: RedisOptions;
  /**
   * Told when the server may drop accepted tasks by itself (checked at connect: a
   * `maxmemory-policy` other than `noeviction`, or a server that refuses to say). Default: a
   * process warning (`process.emitWarning`, type `ConveyorWarning`, the warning's code), once per
   * process for the same message. Messages name host and port, never credentials.
   */
  onWarning?: (warning: RedisWarning) => void;
}

/** Options with every default applied and validated. */
export interface ResolvedRedisOptions extends Omit<RedisTransportOptions, 'url'> {
  keyPrefix: string;
  visibilityTimeoutMs: number;
  pollIntervalMs: number;
  maxMessageBytes: number;
  connectionName: string;
  connectTimeoutMs: number;
  host: string;
  port: number;
}

const KNOWN = new Set([
  'url',
  'host',
  'port',
  'db',
  'username',
  'password',
  'tls',
  'cluster',
  'sentinels',
  'sentinelName',
  'sentinelPassword',
  'keyPrefix',
  'visibilityTimeoutMs',
  'pollIntervalMs',
  'maxMessageBytes',
  'connectionName',
  'connectTimeoutMs',
  'redis',
  'onWarning',
]);

/** Validates options and merges the URL into them; every error names the option. */
export function resolveRedisOptions(options: RedisTransportOptions): ResolvedRedisOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidOptionError(key, 'unknown RedisTransport option');
  }
  const fromUrl = options.url ? parseRedisUrl(options.url) : {};
  const merged: RedisTransportOptions = { ...fromUrl, ...withoutUndefined(options) };
  delete merged.url;
  // `tls: true` in code keeps the files a rediss:// URL named.
  if (options.tls === true && typeof fromUrl.tls === 'object') merged.tls = fromUrl.tls;
  if (merged.tls !== undefined && typeof merged.tls !== 'boolean') checkTlsOptions('tls', merged.tls);
  const resolved: ResolvedRedisOptions = {
    ...merged,
    host: merged.host ?? '127.0.0.1',
    port: merged.port ?? 6379,
    keyPrefix: merged.keyPrefix ?? '',
    visibilityTimeoutMs: merged.visibilityTimeoutMs ?? 60_000,
    pollIntervalMs: merged.pollIntervalMs ?? 200,
    maxMessageBytes: merged.maxMessageBytes ?? 4 * 1024 * 1024,
    connectionName: merged.connectionName ?? 'conveyor',
    connectTimeoutMs: merged.connectTimeoutMs ?? 10_000,
  };
  positive('connectTimeoutMs', resolved.connectTimeoutMs);
  positive('visibilityTimeoutMs', resolved.visibilityTimeoutMs);
  positive('pollIntervalMs', resolved.pollIntervalMs);
  positive('maxMessageBytes', resolved.maxMessageBytes);
  if (!Number.isInteger(resolved.port) || resolved.port <= 0 || resolved.port > 65535) {
    throw new InvalidOptionError('port', `must be a TCP port, got ${String(resolved.port)}`);
  }
  if (resolved.db !== undefined && (!Number.isInteger(resolved.db) || resolved.db < 0)) {
    throw new InvalidOptionError('db', 'must be an integer >= 0');
  }
  if (resolved.cluster && resolved.db)
    throw new InvalidOptionError('db', 'Redis Cluster has only database 0');
  if (resolved.onWarning !== undefined && typeof resolved.onWarning !== 'function') {
    throw new InvalidOptionError('onWarning', 'must be a function (warning) => void');
  }
  if (resolved.sentinels && !resolved.sentinelName) {
    throw new InvalidOptionError('sentinelName', 'is required with sentinels (the master group name)');
  }
  // console.log(transport) and JSON loggers must not print the password.
  return printedWithoutSecrets(resolved);
}

function positive(option: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0))
    throw new InvalidOptionError(option, 'must be a positive number');
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const UNENCODED_CREDENTIALS =
  'the user name or password holds a character it must URL-encode ("/", "?", "#", "@", "%"): encode them with encodeURIComponent';

/** Parses the URL forms Conveyor accepts for Redis. */
export function parseRedisUrl(url: string): RedisTransportOptions {
  // Before parsing: an unencoded "/" or "@" in the password would be parsed as host or path, and
  // the parse errors would quote that piece of it.
  if (hasUnencodedCredentials(url)) throw new InvalidBrokerUrlError(url, UNENCODED_CREDENTIALS);
  const match =
    /^(redis|rediss|redis\+cluster|redis\+sentinel):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?]*)(\/[^?]*)?(\?.*)?$/i.exec(
      url,
    );
  if (!match) throw new InvalidBrokerUrlError(url, 'expected redis://[user:password@]host:port/db');
  const [, scheme = '', user, pass, hostList = '', path = '', query = ''] = match;
  const out: RedisTransportOptions = {};
  if (user) out.username = decodeURIComponent(user);
  if (pass) out.password = decodeURIComponent(pass);
  const nodes = hostList
    .split(',')
    .filter(Boolean)
    .map((hp) => parseNode(url, hp, scheme.toLowerCase() === 'redis+sentinel' ? 26379 : 6379));
  const segments = path.split('/').filter(Boolean);
  switch (scheme.toLowerCase()) {
    case 'rediss':
      out.tls = true;
      Object.assign(out, nodes[0] ?? {});
      if (segments[0] !== undefined) out.db = parseDb(url, segments[0]);
      break;
    case 'redis+cluster':
      if (nodes.length === 0)
        throw new InvalidBrokerUrlError(url, 'redis+cluster:// needs at least one host:port');
      out.cluster = nodes;
      break;
    case 'redis+sentinel':
      if (nodes.length === 0 || !segments[0]) {
        throw new InvalidBrokerUrlError(
          url,
          'expected redis+sentinel://host:port[,host:port]/<master-name>[/db]',
        );
      }
      out.sentinels = nodes;
      out.sentinelName = decodeURIComponent(segments[0]);
      if (segments[1] !== undefined) out.db = parseDb(url, segments[1]);
      break;
    default:
      Object.assign(out, nodes[0] ?? {});
      if (segments[0] !== undefined) out.db = parseDb(url, segments[0]);
  }
  const parameters = new URLSearchParams(query);
  for (const [key, value] of parameters) {
    if (isTlsUrlParameter(key)) {
      if (scheme.toLowerCase() !== 'rediss') throw new InvalidOptionError(key, 'needs a rediss:// URL');
    } else if (key === 'keyPrefix') out.keyPrefix = value;
    else if (key === 'visibilityTimeoutMs') out.visibilityTimeoutMs = Number(value);
    else if (key === 'pollIntervalMs') out.pollIntervalMs = Number(value);
    else if (key === 'connectionName') out.connectionName = value;
    else throw new InvalidOptionError(key, 'unknown redis:// URL parameter');
  }
  const tls = tlsFromUrlParameters(parameters);
  if (tls) out.tls = tls;
  return out;
}

function parseNode(url: string, hostPort: string, defaultPort: number): RedisNode {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(hostPort);
  if (!m?.[1]) throw new InvalidBrokerUrlError(url, `bad host "${hostPort}"`);
  return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
}

function parseDb(url: string, segment: string): number {
  const db = Number(segment);
  if (!Number.isInteger(db) || db < 0)
    throw new InvalidBrokerUrlError(url, `database must be a number, got "${segment}"`);
  return db;
}
