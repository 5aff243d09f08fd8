import { decodeKombuEnvelope, MalformedMessageError, type WireMessage } from '@conveyor/core/transport';
import { levelOfBucket } from './queue-keys.js';

/** A payload taken from a queue list: the message, or why it is not one. */
export type DecodedPayload =
  | { message: WireMessage; malformed: null }
  | { message: null; malformed: MalformedMessageError };

/**
 * Decodes a list element as the take script returned it (bytes, whatever a producer pushed) taken
 * from priority `bucket`. A payload that is not a kombu envelope gives the reason, never throws:
 * the delivery then dead-letters `raw` itself, byte for byte.
 */
export function decodeStoredPayload(raw: Buffer, bucket: number): DecodedPayload {
  try {
    // Read in place and as strict UTF-8: `raw` itself stays as stored, for the dead letter.
    const message = decodeKombuEnvelope(raw).message;
    const level = levelOfBucket(bucket);
    if (level === undefined) delete message.properties.priority;
    else message.properties.priority = level;
    return { message, malformed: null };
  } catch (error) {
    const malformed =
      error instanceof MalformedMessageError ? error : new MalformedMessageError(String(error));
    return { message: null, malformed };
  }
}
