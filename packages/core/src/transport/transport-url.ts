import { InvalidBrokerUrlError, InvalidOptionError } from '../errors/transport-errors.js';
import { importBrokerPackage, urlScheme } from './broker-package.js';
import type { Transport } from './transport.js';

/**
 * What a broker package Conveyor knows (TRANSPORT_PACKAGES) exports so that a broker URL can open
 * it: `@conveyor/redis`, `@conveyor/amqp`, `@conveyor/sqs` and `@conveyor/kafka`. A third-party
 * transport calls registerTransport instead.
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
  'sqs+https': '@conveyor/sqs',
  kafka: '@conveyor/kafka',
  'kafka+ssl': '@conveyor/kafka',
});

/** Opens an unconnected transport for a URL of a registered scheme. */
export type TransportFactory = (url: string) => Transport | Promise<Transport>;

/**
 * Registered schemes live on globalThis under a registry symbol, so that a transport package and
 * the CLI agree even when each resolved its own copy of @conveyor/core.
 */
const REGISTRY_KEY = Symbol.for('@conveyor/core:transport-registry');

function registry(): Map<string, TransportFactory> {
  const holder = globalThis as { [REGISTRY_KEY]?: Map<string, TransportFactory> };
  holder[REGISTRY_KEY] ??= new Map();
  return holder[REGISTRY_KEY];
}

/**
 * Serves a URL scheme with a transport Conveyor does not ship, so that `transportFromUrl`, the
 * Worker's users and the `conveyor` CLI (`--require <module>`) open it like a built-in one. A
 * transport package calls it when it is imported:
 *
 * ```ts
 * registerTransport('redis+streams', (url) => new RedisStreamsTransport({ url }));
 * ```
 *
 * A registered scheme takes precedence over the packages Conveyor knows (TRANSPORT_PACKAGES).
 * `memory` cannot be registered. Registering a scheme again with another factory throws
 * InvalidOptionError; call unregisterTransport first to replace it.
 */
export function registerTransport(scheme: string, factory: TransportFactory): void {
  const name = String(scheme).toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*$/.test(name))
    throw new InvalidOptionError('scheme', `"${scheme}" is not a URL scheme (letters, digits, + . -)`);
  if (name === 'memory') throw new InvalidOptionError('scheme', '"memory" is built into @conveyor/core');
  if (typeof factory !== 'function')
    throw new InvalidOptionError('factory', 'must be a function (url) => Transport');
  const existing = registry().get(name);
  if (existing !== undefined && existing !== factory)
    throw new InvalidOptionError('scheme', `"${name}" is already registered by another transport`);
  registry().set(name, factory);
}

/** Removes a registration made with registerTransport; true when there was one. */
export function unregisterTransport(scheme: string): boolean {
  return registry().delete(String(scheme).toLowerCase());
}

/** Every scheme transportFromUrl accepts now: memory, the registered ones and Conveyor's packages. */
export function registeredSchemes(): string[] {
  return ['memory', ...new Set([...registry().keys(), ...Object.keys(TRANSPORT_PACKAGES)])];
}

/** Scheme of a broker URL, validated. */
export function brokerScheme(url: string): string {
  const scheme = urlScheme(url);
  if (scheme === undefined)
    throw new InvalidBrokerUrlError(url, 'expected a URL such as memory://, redis://host:6379');
  if (scheme !== 'memory' && !registry().has(scheme) && !(scheme in TRANSPORT_PACKAGES)) {
    throw new InvalidBrokerUrlError(
      url,
      `unknown scheme "${scheme}:"; known: ${registeredSchemes().join(', ')} (a transport package registers its own scheme with registerTransport when imported; the CLI imports one with --require)`,
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
  const registered = registry().get(scheme);
  if (registered) return registered(url);
  const packageName = TRANSPORT_PACKAGES[scheme]!;
  const mod = await importBrokerPackage<TransportModule>(scheme, packageName);
  if (typeof mod.createTransportFromUrl !== 'function') {
    throw new InvalidBrokerUrlError(url, `${packageName} does not export createTransportFromUrl()`);
  }
  return mod.createTransportFromUrl(url);
}
