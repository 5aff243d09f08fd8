import { BrokerAuthenticationError, BrokerConnectionError, type ConveyorError } from '@conveyor/core';
import { describeTlsFailure } from '@conveyor/core/transport';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { scrubCredentials } from './credential-scrub.js';
import type { ResolvedRedisOptions } from './options.js';

/** A Redis connection: one server (direct or via Sentinel) or a Cluster. */
export type RedisConnection = Redis | Cluster;

/**
 * Opens a connection. Commands fail fast while disconnected (no endless offline queue): a publish
 * either reaches Redis or rejects, so the caller knows. ioredis reconnects by itself.
 */
export function openConnection(options: ResolvedRedisOptions, role: string): RedisConnection {
  const connection = createConnection(options, role);
  // ioredis rejects a failed connect with "Connection is closed."; the reason (a TLS or AUTH error)
  // only goes to 'error' listeners. Kept so that connectFailure can say what went wrong.
  // Scrubbed first: a refused AUTH/HELLO carries the password in its arguments.
  connection.on('error', (error: unknown) => lastErrors.set(connection, scrubCredentials(error)));
  return connection;
}

const lastErrors = new WeakMap<RedisConnection, unknown>();

/**
 * The error a failed connect is reported with: BrokerAuthenticationError when Redis refused the
 * credentials (WRONGPASS, NOAUTH), a BrokerConnectionError that is not retryable and says what to
 * change when TLS failed, else a retryable BrokerConnectionError. Never shows the password.
 */
export function connectFailure(
  options: ResolvedRedisOptions,
  connection: RedisConnection,
  error: unknown,
  transport: string,
): ConveyorError {
  const reason = lastErrors.get(connection) ?? scrubCredentials(error);
  const where = `Redis at ${describeTarget(options)}`;
  const text = reason instanceof Error ? reason.message : String(reason);
  if (/^(WRONGPASS|NOAUTH)\b/.test(text)) {
    const user = options.username ?? 'default';
    return new BrokerAuthenticationError(`${where} refused the credentials of user "${user}": ${text}`, {
      cause: reason,
      transport,
    });
  }
  const tls = describeTlsFailure(reason, { ca: 'tls.ca', clientCertificate: 'tls.cert and tls.key' });
  if (tls)
    return new BrokerConnectionError(`cannot connect to ${where}: ${tls}`, {
      cause: reason,
      transport,
      retryable: false,
    });
  const detail = error instanceof Error ? error.message : String(error);
  return new BrokerConnectionError(
    `cannot connect to ${where}: ${detail}${reason !== error ? ` (${text})` : ''}`,
    {
      cause: error,
      transport,
    },
  );
}

function createConnection(options: ResolvedRedisOptions, role: string): RedisConnection {
  const common: RedisOptions = {
    username: options.username,
    password: options.password,
    connectionName: `${options.connectionName}:${role}`,
    lazyConnect: true,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    ...(options.tls ? { tls: options.tls === true ? {} : options.tls } : {}),
    ...options.redis,
  };
  if (options.cluster) {
    return new Cluster(options.cluster, {
      lazyConnect: true,
      enableAutoPipelining: true,
      redisOptions: common,
      clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    });
  }
  if (options.sentinels) {
    return new Redis({
      ...common,
      sentinels: options.sentinels,
      name: options.sentinelName,
      sentinelPassword: options.sentinelPassword,
      db: options.db ?? 0,
    });
  }
  return new Redis({ ...common, host: options.host, port: options.port, db: options.db ?? 0 });
}

/** Describes where a connection goes, without secrets. */
export function describeTarget(options: ResolvedRedisOptions): string {
  if (options.cluster) return `cluster ${options.cluster.map((n) => `${n.host}:${n.port}`).join(',')}`;
  if (options.sentinels) return `sentinel master "${options.sentinelName}"`;
  return `${options.host}:${options.port}/${options.db ?? 0}`;
}
