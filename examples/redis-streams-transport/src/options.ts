import { InvalidOptionError } from '@conveyor/core/transport';

/** Options of RedisStreamsTransport. */
export interface RedisStreamsOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 6379. */
  port?: number;
  /** Redis database number. Default 0. */
  db?: number;
  username?: string;
  password?: string;
  /** Put before every stream key, to share a database with others. Default `conveyor:`. */
  keyPrefix?: string;
  /**
   * An entry pending this long without being settled (a consumer that crashed or hung) is claimed
   * by another consumer, which delivers it again. Default 30 minutes.
   */
  visibilityTimeoutMs?: number;
  /** Where errors thrown by delivery handlers go. Default: console.error. */
  onHandlerError?: (error: unknown) => void;
}

/** The options in effect, defaults filled in. */
export type ResolvedRedisStreamsOptions = Required<Omit<RedisStreamsOptions, 'username' | 'password'>> &
  Pick<RedisStreamsOptions, 'username' | 'password'>;

const DEFAULT_VISIBILITY_TIMEOUT_MS = 30 * 60_000;
const URL_PARAMETERS = new Set(['keyPrefix', 'visibilityTimeoutMs']);

/** Fills in defaults and refuses values the transport cannot work with, naming the option. */
export function resolveOptions(options: RedisStreamsOptions): ResolvedRedisStreamsOptions {
  const resolved: ResolvedRedisStreamsOptions = {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 6379,
    db: options.db ?? 0,
    keyPrefix: options.keyPrefix ?? 'conveyor:',
    visibilityTimeoutMs: options.visibilityTimeoutMs ?? DEFAULT_VISIBILITY_TIMEOUT_MS,
    onHandlerError:
      options.onHandlerError ??
      ((error) => console.error('[conveyor] [redis-streams] delivery handler failed:', error)),
    username: options.username,
    password: options.password,
  };
  if (!Number.isInteger(resolved.port) || resolved.port < 1 || resolved.port > 65535)
    throw new InvalidOptionError('port', `must be a TCP port, got ${resolved.port}`);
  if (!Number.isInteger(resolved.db) || resolved.db < 0)
    throw new InvalidOptionError('db', `must be a database number >= 0, got ${resolved.db}`);
  const timeout = resolved.visibilityTimeoutMs;
  if (!Number.isInteger(timeout) || timeout < 1)
    throw new InvalidOptionError('visibilityTimeoutMs', `must be a whole number of ms >= 1, got ${timeout}`);
  return resolved;
}

/**
 * Options from `redis+streams://[user:password@]host[:port][/db][?keyPrefix=…&visibilityTimeoutMs=…]`.
 * An unknown parameter is refused rather than ignored.
 */
export function optionsFromUrl(url: string): RedisStreamsOptions {
  const parsed = new URL(url);
  const options: RedisStreamsOptions = {};
  if (parsed.hostname) options.host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (parsed.port) options.port = Number(parsed.port);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '') options.db = /^\d+$/.test(db) ? Number(db) : Number.NaN;
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  for (const [key, value] of parsed.searchParams) {
    if (!URL_PARAMETERS.has(key)) throw new InvalidOptionError(key, 'unknown redis+streams:// URL parameter');
    if (key === 'keyPrefix') options.keyPrefix = value;
    else options.visibilityTimeoutMs = Number(value);
  }
  return options;
}

/** The stream that holds a queue. */
export function streamKey(options: Pick<ResolvedRedisStreamsOptions, 'keyPrefix'>, queue: string): string {
  return `${options.keyPrefix}${queue}`;
}
