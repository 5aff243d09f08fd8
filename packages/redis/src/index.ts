/**
 * @conveyor/redis: the Redis transport and Celery-compatible result backend for Conveyor.
 */
import type { ResultBackend, Transport } from '@conveyor/core';
import { RedisResultBackend } from './redis-result-backend.js';
import { RedisTransport } from './redis-transport.js';

export type { DelayedRelease } from './delayed-release.js';
export { parseRedisUrl, type RedisNode, type RedisTransportOptions } from './options.js';
export { toPythonJson } from './python-json.js';
export { KOMBU_SEPARATOR, type QueueKeys, queueKeys, REDIS_PRIORITY_LEVELS } from './queue-keys.js';
export { REDELIVERY_COUNT_RETENTION_MS } from './redis-consumer.js';
export { RedisResultBackend, type RedisResultBackendOptions } from './redis-result-backend.js';
export { RedisTransport } from './redis-transport.js';
export type { RedisWarning } from './server-durability.js';

/** Opens a RedisTransport from a `redis://`, `rediss://`, `redis+cluster://` or `redis+sentinel://` URL. */
export function createTransportFromUrl(url: string): Transport {
  return new RedisTransport({ url });
}

/** Opens a RedisResultBackend (Celery's Redis result layout) from the same URL forms. */
export function createResultBackendFromUrl(url: string): ResultBackend {
  return new RedisResultBackend({ url });
}
export { RedisBroadcast, type RedisBroadcastPort } from './redis-broadcast.js';
