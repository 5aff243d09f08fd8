/**
 * The conformance harness of this transport, one object for both runners: the vitest file passes
 * it to describeTransportConformance, and `conveyor conformance --harness
 * @conveyor-examples/redis-streams/harness` loads it (the default export, called with `--broker`).
 */
import type { ConformanceHarness } from '@conveyor/conformance';
import { redactUrl } from '@conveyor/core/transport';
import { Redis } from 'ioredis';
import { optionsFromUrl, resolveOptions, streamKey } from './options.js';
import { RedisStreamsTransport } from './redis-streams-transport.js';
import { DELIVERIES_FIELD, PAYLOAD_FIELD } from './stream-entry.js';

/** A database and key prefix nothing else in this repository uses. */
export const DEFAULT_HARNESS_URL = 'redis+streams://127.0.0.1:6379/11?keyPrefix=conformance:';

/** A harness on the Redis a `redis+streams://` URL names, with every hook the suite can use. */
export function redisStreamsHarness(url: string = DEFAULT_HARNESS_URL): ConformanceHarness {
  const options = resolveOptions(optionsFromUrl(url));
  const admin = (): Redis =>
    new Redis({
      host: options.host,
      port: options.port,
      db: options.db,
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
    });
  return {
    name: `redis-streams (${redactUrl(url)})`,
    // The fault proxy sits in front of this address for the reconnect cases (RCN-*).
    upstream: { host: options.host, port: options.port },
    createTransport: ({ endpoint, visibilityTimeoutMs }) =>
      new RedisStreamsTransport({
        ...options,
        ...(endpoint ? { host: endpoint.host, port: endpoint.port } : {}),
        ...(visibilityTimeoutMs !== undefined ? { visibilityTimeoutMs } : {}),
      }),
    // Bytes exactly as a foreign producer could leave them in the stream (DLQ-02, DLQ-03, DLQ-04).
    async publishRaw(queue, bytes) {
      const redis = admin();
      try {
        await redis.xadd(
          streamKey(options, queue),
          '*',
          PAYLOAD_FIELD,
          Buffer.from(bytes),
          DELIVERIES_FIELD,
          '0',
        );
      } finally {
        redis.disconnect();
      }
    },
    async cleanup(queues) {
      // The suite passes every queue a case used, dead-letter queues included.
      const keys = queues.map((queue) => streamKey(options, queue));
      if (keys.length === 0) return;
      const redis = admin();
      try {
        await redis.del(...new Set(keys));
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** For `conveyor conformance --harness`: `--broker` if given, else $REDIS_STREAMS_URL, else the default. */
export default function harness({ broker }: { broker?: string | undefined } = {}): ConformanceHarness {
  return redisStreamsHarness(broker ?? process.env.REDIS_STREAMS_URL ?? DEFAULT_HARNESS_URL);
}
