import { MessageTooLargeError } from '../errors/message-errors.js';
import { InvalidOptionError, UnsupportedFeatureError } from '../errors/transport-errors.js';
import type { WireMessage } from '../message/wire-message.js';
import type { TransportCapabilities } from './capabilities.js';
import type { PublishOptions } from './transport.js';

/**
 * The checks every transport runs before publishing: one implementation, so that every broker
 * refuses the same things with the same errors.
 */
export function checkPublish(
  transport: string,
  caps: TransportCapabilities,
  message: WireMessage,
  options: PublishOptions | undefined,
): void {
  const size = message.body.byteLength;
  if (size > caps.maxMessageBytes) throw new MessageTooLargeError(size, caps.maxMessageBytes, { transport });
  const priority = options?.priority ?? message.properties.priority;
  if (priority !== undefined && priority !== 0) checkPriority(transport, caps, priority);
  if (!options) return;
  if (options.delayMs !== undefined) checkDelay(transport, caps, options.delayMs, 'delayMs');
  if (options.deduplicationId !== undefined && !caps.deduplication) {
    throw new UnsupportedFeatureError('deduplication', 'deduplicationId was given', { transport });
  }
  if (options.orderingKey !== undefined && caps.ordering === 'none') {
    throw new UnsupportedFeatureError('ordering', 'orderingKey was given but ordering is "none"', {
      transport,
    });
  }
}

/** Validates a priority against the manifest. */
export function checkPriority(transport: string, caps: TransportCapabilities, priority: number): void {
  if (caps.priorityLevels === 0) {
    throw new UnsupportedFeatureError('priority', `priority ${priority} was given`, { transport });
  }
  if (!Number.isInteger(priority) || priority < 0 || priority >= caps.priorityLevels) {
    throw new InvalidOptionError('priority', `must be an integer from 0 to ${caps.priorityLevels - 1}`, {
      transport,
    });
  }
}

/** Validates a delay (publish or nack) against the manifest. */
export function checkDelay(
  transport: string,
  caps: TransportCapabilities,
  delayMs: number,
  option: string,
): void {
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new InvalidOptionError(option, 'must be a finite number of milliseconds >= 0', { transport });
  }
  if (delayMs === 0) return;
  if (caps.delay.mode === 'none') {
    throw new UnsupportedFeatureError('delay', `${option}=${delayMs} was given`, { transport });
  }
  if (caps.delay.maxDelayMs !== null && delayMs > caps.delay.maxDelayMs) {
    throw new UnsupportedFeatureError(
      'delay',
      `${option}=${delayMs} exceeds capabilities.delay.maxDelayMs=${caps.delay.maxDelayMs}`,
      { transport },
    );
  }
}

/** Validates a consumer's prefetch bound. */
export function checkPrefetch(transport: string, prefetch: unknown): void {
  if (typeof prefetch !== 'number' || !Number.isInteger(prefetch) || prefetch < 1) {
    throw new InvalidOptionError('prefetch', `must be an integer >= 1, got ${String(prefetch)}`, {
      transport,
    });
  }
}
