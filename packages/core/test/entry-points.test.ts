import { describe, expect, it } from 'vitest';
import * as application from '../src/index.js';
import * as transportAuthors from '../src/transport-authors.js';

// What each audience imports: applications get the runtime, implementors the contract's insides.
const IMPLEMENTOR_ONLY = [
  'CARRIED_DELIVERY_COUNT_HEADER',
  'HeldDeliveries',
  'MAX_VISIBILITY_EXTENSION_MS',
  'PrefetchWindow',
  'TransportDelivery',
  'checkDelay',
  'checkHealth',
  'checkPrefetch',
  'checkPriority',
  'checkPublish',
  'deadLetterMessage',
  'handToHandler',
  'decodeKombuEnvelope',
  'decodeTaskMessage',
  'defineCapabilities',
  'encodeKombuEnvelope',
  'encodeTaskMessage',
  'invokeHandler',
  'onAbort',
  'pythonArgsRepr',
  'pythonKwargsRepr',
  'withCarriedCount',
  'TLS_URL_PARAMETERS',
  'checkTlsOptions',
  'describeTlsFailure',
  'isTlsUrlParameter',
  'tlsFromUrlParameters',
  'printedWithoutSecrets',
  'SECRET_OPTION_KEYS',
];

const APPLICATION_ONLY = [
  'Client',
  'Worker',
  'defineTask',
  'MemoryTransport',
  'MemoryBroker',
  'MemoryResultBackend',
  'ResultHandle',
  'resultBackendFromUrl',
];

describe('entry points', () => {
  it('@conveyor/core/transport holds the implementor API, @conveyor/core does not', () => {
    expect(
      Object.keys(transportAuthors)
        .filter((name) => !(name in application))
        .sort(),
    ).toEqual([...IMPLEMENTOR_ONLY].sort());
  });

  it('@conveyor/core holds the application API, which @conveyor/core/transport leaves out', () => {
    for (const name of APPLICATION_ONLY) {
      expect(application, name).toHaveProperty(name);
      expect(transportAuthors, name).not.toHaveProperty(name);
    }
  });

  it('both export the same errors and URL registry (one class each, so instanceof agrees)', () => {
    for (const name of [
      'ConveyorError',
      'LeaseLostError',
      'TransportClosedError',
      'registerTransport',
    ] as const) {
      expect(transportAuthors[name]).toBe(application[name]);
    }
  });
});
