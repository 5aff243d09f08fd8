import { isUtf8 } from 'node:buffer';
import { CodecNotRegisteredError, MalformedMessageError } from '../errors/message-errors.js';

/**
 * Turns task bodies into bytes and back. Only `application/json` is built in: Conveyor never
 * executes code from a payload, so formats such as pickle are deliberately absent.
 */
export interface Codec {
  /** Exact MIME type written to `content_type`. */
  readonly contentType: string;
  /** `utf-8` for text formats, `binary` otherwise. */
  readonly contentEncoding: string;
  encode(value: unknown): Uint8Array;
  /** Throws on bytes that are not valid in this format; the caller turns that into MalformedMessageError. */
  decode(bytes: Uint8Array): unknown;
}

/**
 * The built-in JSON codec, byte-compatible with kombu's json serializer for plain values.
 * Buffer rather than TextEncoder: small Buffers come from a shared slab, and a fresh ArrayBuffer
 * per message made garbage collection half of a memory:// worker's time.
 */
export const jsonCodec: Codec = {
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  encode: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
  decode: (bytes) => {
    const buffer = asBuffer(bytes);
    // Buffer#toString would turn invalid UTF-8 into U+FFFD silently; a corrupt body must be refused.
    if (!isUtf8(buffer)) throw new Error('body is not valid UTF-8');
    return JSON.parse(buffer.toString('utf8'));
  },
};

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A set of codecs keyed by content type. */
export class CodecRegistry {
  readonly #codecs = new Map<string, Codec>([[jsonCodec.contentType, jsonCodec]]);

  register(codec: Codec): void {
    this.#codecs.set(codec.contentType, codec);
  }

  /** Throws CodecNotRegisteredError for an unknown type. */
  get(contentType: string): Codec {
    const codec = this.#codecs.get(contentType);
    if (!codec) throw new CodecNotRegisteredError(contentType);
    return codec;
  }

  /** Decodes a received body; any failure becomes MalformedMessageError with the reason. */
  decode(contentType: string, bytes: Uint8Array): unknown {
    const codec = this.#codecs.get(contentType);
    if (!codec) throw new MalformedMessageError(`content type "${contentType}" is not accepted`);
    try {
      return codec.decode(bytes);
    } catch (error) {
      throw new MalformedMessageError(
        `body is not valid ${contentType}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }
}

/** The registry used when none is passed to a client or worker. */
export const defaultCodecs = new CodecRegistry();

/** Registers a codec in the default registry. */
export function registerCodec(codec: Codec): void {
  defaultCodecs.register(codec);
}
