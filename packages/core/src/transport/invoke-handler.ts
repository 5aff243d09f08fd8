import type { Delivery } from './delivery.js';
import type { DeliveryHandler } from './transport.js';

/**
 * Calls a consumer's handler. If the handler throws or rejects, the delivery goes back to its
 * queue: a bug in a handler must not lose a message. `isSettled` tells whether the handler
 * already settled it.
 */
export function invokeHandler(
  handler: DeliveryHandler,
  delivery: Delivery,
  isSettled: () => boolean,
  onError: (error: unknown) => void,
): void {
  const recover = (error: unknown): void => {
    onError(error);
    if (!isSettled()) delivery.nack().catch(onError);
  };
  try {
    const result = handler(delivery);
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      (result as Promise<void>).then(undefined, recover);
    }
  } catch (error) {
    recover(error);
  }
}
