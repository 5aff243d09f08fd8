import {
  DEAD_LETTER_CONTENT_ENCODING_HEADER,
  DEAD_LETTER_CONTENT_TYPE_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
  DEAD_LETTERED_AT_HEADER,
} from '../delivery/dead-letter-message.js';
import type { WireMessage } from '../message/wire-message.js';
import {
  CARRIED_DELIVERY_COUNT_HEADER,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
} from '../transport/delivery.js';

/** Headers the dead-lettering added, which a redriven copy must not carry back into its queue. */
const DEAD_LETTER_HEADERS: readonly string[] = [
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_SOURCE_HEADER,
  DEAD_LETTERED_AT_HEADER,
  DEAD_LETTER_TRUNCATED_HEADER,
  DEAD_LETTER_CONTENT_TYPE_HEADER,
  DEAD_LETTER_CONTENT_ENCODING_HEADER,
];

/**
 * The message a redrive publishes for a letter: the letter with every header and property it
 * had, the task id included, less the dead-letter headers and less any carried delivery count
 * (x-conveyor-delivery-count), so the copy starts over at delivery 1 as a new message does.
 */
export function redriveCopy(letter: WireMessage): WireMessage {
  const headers = { ...letter.headers };
  for (const name of [...DEAD_LETTER_HEADERS, CARRIED_DELIVERY_COUNT_HEADER]) delete headers[name];
  return { headers, properties: { ...letter.properties }, body: letter.body };
}
