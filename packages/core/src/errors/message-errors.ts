import { ConveyorError, type ConveyorErrorOptions } from './conveyor-error.js';

/**
 * A message that cannot be turned into a task: bad JSON, a missing header, a body that is not
 * `[args, kwargs, embed]`. The worker dead-letters it with `reason` and keeps running.
 */
export class MalformedMessageError extends ConveyorError {
  /** Short machine-friendly explanation, stored with the dead-lettered message. */
  readonly reason: string;
  constructor(reason: string, options: ConveyorErrorOptions = {}) {
    super('MALFORMED_MESSAGE', `malformed message: ${reason}`, options);
    this.reason = reason;
  }
}

/** The message is bigger than the transport's `capabilities.maxMessageBytes`. */
export class MessageTooLargeError extends ConveyorError {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number, options: ConveyorErrorOptions = {}) {
    super(
      'MESSAGE_TOO_LARGE',
      `message body is ${size} bytes; this transport accepts at most ${limit} bytes (capabilities.maxMessageBytes)`,
      options,
    );
    this.size = size;
    this.limit = limit;
  }
}

/** No codec is registered for a message's content type. */
export class CodecNotRegisteredError extends ConveyorError {
  readonly contentType: string;
  constructor(contentType: string) {
    super(
      'CODEC_NOT_REGISTERED',
      `no codec registered for content type "${contentType}"; register one with registerCodec()`,
    );
    this.contentType = contentType;
  }
}
