import type { Channel } from 'amqplib';

/** Levels of the ladder: delays up to 2^28 - 1 seconds (about 8.5 years). */
export const DELAY_LEVELS = 28;
/** Final exchange of the ladder: target queues bind to it. */
export const DELAY_DELIVERY_EXCHANGE = 'conveyor.delayed.delivery';

const levelName = (level: number): string => `conveyor.delayed.${level}`;

/**
 * Delays without a broker plugin (RabbitMQ 3.10 from Debian has none): a binary ladder of TTL
 * queues, the design kombu >= 5.5 uses. Level L holds a message exactly 2^L seconds and only if
 * bit L of its delay is set; every queue has one TTL, so expiry is FIFO with no head-of-line
 * blocking. Delays round up to whole seconds: a message is never early.
 */
export async function declareDelayLadder(channel: Channel): Promise<void> {
  await channel.assertExchange(DELAY_DELIVERY_EXCHANGE, 'topic', { durable: true });
  // Every exchange first: each level binds to the one below it.
  for (let level = 0; level < DELAY_LEVELS; level++) {
    await channel.assertExchange(levelName(level), 'topic', { durable: true });
  }
  for (let level = DELAY_LEVELS - 1; level >= 0; level--) {
    const name = levelName(level);
    const next = level === 0 ? DELAY_DELIVERY_EXCHANGE : levelName(level - 1);
    await channel.assertQueue(name, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-message-ttl': 2 ** level * 1000,
        'x-dead-letter-exchange': next,
        // Quorum queues dead-letter at least once (not at most once) with reject-publish overflow.
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      },
    });
    const prefix = '*.'.repeat(DELAY_LEVELS - 1 - level);
    await channel.bindQueue(name, name, `${prefix}1.#`);
    await channel.bindExchange(next, name, `${prefix}0.#`);
  }
}

/** Binds a target queue to the ladder's last exchange with an exact pattern. */
export async function bindToLadder(channel: Channel, queue: string): Promise<void> {
  await channel.bindQueue(queue, DELAY_DELIVERY_EXCHANGE, `${'*.'.repeat(DELAY_LEVELS)}${queue}`);
}

/** Exchange and routing key that delay a message for `delayMs` (rounded up to seconds) to `queue`. */
export function delayRoute(delayMs: number, queue: string): { exchange: string; routingKey: string } {
  const seconds = Math.min(2 ** DELAY_LEVELS - 1, Math.max(1, Math.ceil(delayMs / 1000)));
  const bits = seconds.toString(2).padStart(DELAY_LEVELS, '0').split('').join('.');
  return { exchange: levelName(DELAY_LEVELS - 1), routingKey: `${bits}.${queue}` };
}
