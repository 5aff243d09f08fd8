/**
 * @conveyor-examples/redis-streams: a Conveyor transport on Redis Streams, written only against
 * `@conveyor/core/transport`. Importing this module serves the `redis+streams://` scheme, so
 * `transportFromUrl` and the `conveyor` CLI (`--require @conveyor-examples/redis-streams`) open it.
 */
import { registerTransport, type Transport } from '@conveyor/core/transport';
import { RedisStreamsTransport } from './redis-streams-transport.js';

export {
  optionsFromUrl,
  type RedisStreamsOptions,
  type ResolvedRedisStreamsOptions,
  streamKey,
} from './options.js';
export { CONSUMER_GROUP, RedisStreamsTransport } from './redis-streams-transport.js';

/** The URL scheme this package serves. */
export const REDIS_STREAMS_SCHEME = 'redis+streams';

/** Opens (unconnected) the transport a `redis+streams://` URL names. */
export function createTransportFromUrl(url: string): Transport {
  return RedisStreamsTransport.fromUrl(url);
}

registerTransport(REDIS_STREAMS_SCHEME, createTransportFromUrl);
