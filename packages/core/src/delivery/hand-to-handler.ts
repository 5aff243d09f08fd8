import { invokeHandler } from '../transport/invoke-handler.js';
import type { DeliveryHandler } from '../transport/transport.js';
import type { TransportDelivery } from './transport-delivery.js';

/**
 * Hands a delivery built on the shared layer to a consumer's handler: a handler that throws or
 * rejects while the delivery is still open gets it nacked, so a bug never loses a message.
 */
export function handToHandler(
  handler: DeliveryHandler,
  delivery: TransportDelivery<unknown>,
  onError: (error: unknown) => void,
): void {
  invokeHandler(handler, delivery, () => !delivery.isOpen, onError);
}
