import { InvalidBrokerUrlError } from '../errors/transport-errors.js';
import { importBrokerPackage, urlScheme } from './broker-package.js';
import type { Transport } from './transport.js';

/**
 * What a transport package exports so that a broker URL can open it. Each of
 * `@conveyor/redis`, `@conveyor/amqp`, `@conveyor/sqs`, `@conveyor/kafka` has this export.
 */
export interface TransportModule {
  createTransportFromUrl(url: string): Transport;
}

/** URL scheme → package that implements it. `memory:` is built into core. */
export const TRANSPORT_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  redis: '@conveyor/redis',
  rediss: '@conveyor/redis',
  'redis+cluster': '@conveyor/redis',
  'redis+sentinel': '@conveyor/redis',
  amqp: '@conveyor/amqp',
  amqps: '@conveyor/amqp',
  sqs: '@conveyor/sqs',
  kafka: '@conveyor/kafka',
});

/** Scheme of a broker URL, validated. */
export function brokerScheme(url: string): string {
  const scheme = urlScheme(url);
  if (scheme === undefined)
    throw new InvalidBrokerUrlError(url, 'expected a URL such as memory://, redis://host:6379');
  if (scheme !== 'memory' && !(scheme in TRANSPORT_PACKAGES)) {
    throw new InvalidBrokerUrlError(
      url,
      `unknown scheme "${scheme}:"; known: memory, ${Object.keys(TRANSPORT_PACKAGES).join(', ')}`,
    );
  }
  return scheme;
}

/**
 * Opens the transport a URL names, importing its package only now, so users install only the
 * broker they use. A missing package becomes TransportNotInstalledError naming the package.
 * The transport is returned unconnected.
 */
export async function transportFromUrl(url: string): Promise<Transport> {
  const scheme = brokerScheme(url);
  if (scheme === 'memory') {
    const { MemoryTransport } = await import('../memory/memory-transport.js');
    return MemoryTransport.fromUrl(url);
  }
  const packageName = TRANSPORT_PACKAGES[scheme]!;
  const mod = await importBrokerPackage<TransportModule>(scheme, packageName);
  if (typeof mod.createTransportFromUrl !== 'function') {
    throw new InvalidBrokerUrlError(url, `${packageName} does not export createTransportFromUrl()`);
  }
  return mod.createTransportFromUrl(url);
}
