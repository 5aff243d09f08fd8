import { MessageSignatureError } from './signature-error.js';

/**
 * Content type and encoding of a signed body: those Celery registers for its `auth` serializer,
 * so kombu routes such a message to the signature check before anything reads it.
 */
export const SIGNED_CONTENT_TYPE = 'application/data';
export const SIGNED_CONTENT_ENCODING = 'utf-8';

/** Celery's field separator; base64 fields and MIME types never contain it, and the body comes last. */
const SEPARATOR = Buffer.from([0x00, 0x01]);

/** The parts of Celery's signed envelope (celery.security.serialization.SecureSerializer). */
export interface AuthEnvelope {
  /** The certificate id of the signer (see celerySignerId). */
  readonly signer: string;
  readonly signature: Buffer;
  /** Content type of the serialized body inside, e.g. `application/json`. */
  readonly contentType: string;
  readonly contentEncoding: string;
  /** The serialized body exactly as signed. */
  readonly body: Buffer;
}

/**
 * `base64(base64(signer) SEP base64(signature) SEP content_type SEP content_encoding SEP body)`,
 * Celery's `_pack`; the result is ASCII, as Celery's serializer returns it.
 */
export function packAuthEnvelope(envelope: AuthEnvelope): Buffer {
  const fields = Buffer.concat([
    Buffer.from(Buffer.from(envelope.signer, 'utf8').toString('base64'), 'latin1'),
    SEPARATOR,
    Buffer.from(envelope.signature.toString('base64'), 'latin1'),
    SEPARATOR,
    Buffer.from(envelope.contentType, 'utf8'),
    SEPARATOR,
    Buffer.from(envelope.contentEncoding, 'utf8'),
    SEPARATOR,
    envelope.body,
  ]);
  return Buffer.from(fields.toString('base64'), 'latin1');
}

/** Celery's `_unpack`; throws MessageSignatureError (`malformed`) when the fields are not there. */
export function unpackAuthEnvelope(bytes: Uint8Array): AuthEnvelope {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const raw = Buffer.from(text, 'base64');
  const fields: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < 4; i++) {
    const end = raw.indexOf(SEPARATOR, start);
    if (end < 0) {
      throw new MessageSignatureError(
        'malformed',
        `the body is not Celery's signed envelope (${i + 1} of 5 fields found)`,
      );
    }
    fields.push(raw.subarray(start, end));
    start = end + SEPARATOR.length;
  }
  const [signer, signature, contentType, contentEncoding] = fields as [Buffer, Buffer, Buffer, Buffer];
  return {
    signer: Buffer.from(signer.toString('latin1'), 'base64').toString('utf8'),
    signature: Buffer.from(signature.toString('latin1'), 'base64'),
    contentType: contentType.toString('utf8'),
    contentEncoding: contentEncoding.toString('utf8'),
    body: raw.subarray(start),
  };
}
