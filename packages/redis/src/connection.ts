import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { ResolvedRedisOptions } from './options.js';

/** A Redis connection: one server (direct or via Sentinel) or a Cluster. */
export type RedisConnection = Redis | Cluster;

/**
 * Opens a connection. Commands fail fast while disconnected (no endless offline queue): a publish
 * either reaches Redis or rejects, so the caller knows. ioredis reconnects by itself.
 */
export function openConnection(options: ResolvedRedisOptions, role: string): RedisConnection {
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
