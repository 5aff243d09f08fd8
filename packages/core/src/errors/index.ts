export { ConveyorError, type ConveyorErrorCode, type ConveyorErrorOptions } from './conveyor-error.js';
export { MalformedMessageError, MessageTooLargeError, CodecNotRegisteredError } from './message-errors.js';
export {
  UnsupportedFeatureError,
  InvalidOptionError,
  TransportClosedError,
  BrokerConnectionError,
  TransportNotInstalledError,
  InvalidBrokerUrlError,
  redactUrl,
} from './transport-errors.js';
export {
  type ExceptionInfo,
  UnknownTaskError,
  TaskValidationError,
  PermanentTaskError,
  TaskFailedError,
  TaskRevokedError,
  TimeLimitExceededError,
  SoftTimeLimitExceededError,
  ResultTimeoutError,
} from './task-errors.js';
