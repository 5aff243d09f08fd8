/**
 * Closed set of error codes. Programs branch on `code` (or `instanceof`), never on message text.
 */
export type ConveyorErrorCode =
  | 'MALFORMED_MESSAGE'
  | 'UNSUPPORTED_FEATURE'
  | 'INVALID_OPTION'
  | 'MESSAGE_TOO_LARGE'
  | 'TRANSPORT_CLOSED'
  | 'LEASE_LOST'
  | 'BATCH_PUBLISH_FAILED'
  | 'CONNECTION_FAILED'
  | 'AUTHENTICATION_FAILED'
  | 'BROKER_ERROR'
  | 'TRANSPORT_NOT_INSTALLED'
  | 'INVALID_BROKER_URL'
  | 'UNKNOWN_TASK'
  | 'VALIDATION_FAILED'
  | 'TASK_FAILED'
  | 'TASK_REVOKED'
  | 'TIME_LIMIT_EXCEEDED'
  | 'SOFT_TIME_LIMIT_EXCEEDED'
  | 'RESULT_TIMEOUT'
  | 'PERMANENT_FAILURE'
  | 'DELIVERY_LIMIT_EXCEEDED'
  | 'HANDLER_CRASHED'
  | 'CODEC_NOT_REGISTERED';

/** Options shared by every Conveyor error. */
export interface ConveyorErrorOptions {
  /** The underlying error, when this one wraps another. */
  cause?: unknown;
  /** True when repeating the same operation later may succeed (a dropped connection, say). */
  retryable?: boolean;
  /** Name of the transport that raised it, when one did. */
  transport?: string;
}

/** Base class of every error Conveyor throws on purpose. */
export class ConveyorError extends Error {
  readonly code: ConveyorErrorCode;
  readonly retryable: boolean;
  readonly transport: string | undefined;

  constructor(code: ConveyorErrorCode, message: string, options: ConveyorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.transport = options.transport;
  }
}
