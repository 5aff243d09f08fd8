import type { WireMessage } from '../message/wire-message.js';
import { SIGNED_CONTENT_TYPE } from './auth-envelope.js';

/** Whether the body of a message is a signed envelope (Celery's `auth` content type). */
export function isSignedMessage(message: WireMessage | null | undefined): message is WireMessage {
  return message?.properties?.content_type === SIGNED_CONTENT_TYPE;
}

/**
 * A re-published message (a retry, an early delivery parked again) with the producer's signed
 * body put back in place of the re-encoded one. Only headers change on those paths (retries, eta)
 * and headers are outside the signature, so the producer's signature still holds and the worker
 * needs no key of its own.
 */
export function withSignedBody(reencoded: WireMessage, original: WireMessage): WireMessage {
  return {
    headers: reencoded.headers,
    properties: {
      ...reencoded.properties,
      content_type: original.properties.content_type,
      content_encoding: original.properties.content_encoding,
    },
    body: original.body,
  };
}
