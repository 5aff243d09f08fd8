import type { DeliveryHandler } from '../transport/transport.js';

/** A registered consumer: its handler and how many deliveries it holds unsettled. */
export interface MemoryConsumer {
  readonly handler: DeliveryHandler;
  readonly prefetch: number;
  /** Identity of the transport (the "connection") that owns it. */
  readonly owner: object;
  unsettled: number;
  onError(error: unknown): void;
}
