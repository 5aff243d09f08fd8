import { type DecodedKombuEnvelope, decodeKombuEnvelope } from '@conveyor/core/transport';

/** SQS refuses a message (body plus attributes) above this many bytes. */
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;

/**
 * Room kept for the envelope's own JSON (properties, delivery tag, routing key), the message's
 * headers and Conveyor's message attributes when `maxMessageBytes` is computed: a body of that
 * size fits whenever headers stay under about 3.5 KiB. Larger headers are still caught before
 * sending, by the measure of the encoded message.
 */
export const ENVELOPE_ALLOWANCE_BYTES = 4 * 1024;

/**
 * The largest `WireMessage.body` that always fits in `limit` bytes of SQS message: the body is
 * base64'd in the kombu envelope (4/3), and with `base64: true` the whole envelope again (4/3).
 */
export function maxBodyBytes(limit: number, base64: boolean): number {
  const envelope = base64 ? Math.floor(limit / 4) * 3 : limit;
  const bodyBase64 = envelope - ENVELOPE_ALLOWANCE_BYTES;
  return Math.floor(bodyBase64 / 4) * 3;
}

/** The SQS `MessageBody` of a kombu envelope: base64 of it (kombu's `sqs_base64_encoding`), or it as is. */
export function encodeSqsBody(envelope: string, base64: boolean): string {
  return base64 ? Buffer.from(envelope, 'utf8').toString('base64') : envelope;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Reads a `MessageBody` the way kombu does: it is taken as base64 only when it is valid base64
 * that decodes to UTF-8 and encodes back to the same text, else as the envelope itself; so both
 * `sqs_base64_encoding` settings of a Python producer are read. Anything that is not a kombu
 * envelope throws MalformedMessageError.
 */
export function decodeSqsBody(body: string): DecodedKombuEnvelope {
  let text = body;
  if (body.length > 0 && BASE64.test(body)) {
    const bytes = Buffer.from(body, 'base64');
    const decoded = bytes.toString('utf8');
    if (bytes.toString('base64') === body && Buffer.from(decoded, 'utf8').equals(bytes)) text = decoded;
  }
  return decodeKombuEnvelope(text);
}
