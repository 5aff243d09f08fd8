/**
 * @conveyor/core/transport, for transport authors: everything a broker package needs and an
 * application does not. The contract (`Transport`, `Delivery`, capabilities), the shared delivery
 * layer every transport is built on (`TransportDelivery` with its `DeliveryPort`,
 * `HeldDeliveries`, `PrefetchWindow`, `deadLetterMessage`), the publish checks, the kombu envelope
 * and the Celery message codec, the typed errors, and `registerTransport` to serve a URL scheme.
 *
 * The rules are in `dist/transport-contract.md` of this package (`docs/transport-contract.md` in the
 * repository).
 */
export * from './delivery/index.js';
export * from './errors/index.js';
export * from './message/index.js';
export * from './transport/index.js';
