export { ConveyorError, type ConveyorErrorCode, type ConveyorErrorOptions } from './conveyor-error.js';
export { BatchPublishError, LeaseLostError } from './delivery-errors.js';
export { CodecNotRegisteredError, MalformedMessageError, MessageTooLargeError } from './message-errors.js';
export {
  DeliveryLimitExceededError,
  type ExceptionInfo,
  PermanentTaskError,
  ResultTimeoutError,
  SoftTimeLimitExceededError,
  TaskFailedError,
  TaskRevokedError,
  TaskValidationError,
  TimeLimitExceededError,
  UnknownTaskError,
} from './task-errors.js';
export {
  BrokerAuthenticationError,
  BrokerConnectionError,
  BrokerError,
  hasUnencodedCredentials,
  InvalidBrokerUrlError,
  InvalidOptionError,
  redactUrl,
  TransportClosedError,
  TransportNotInstalledError,
  UnsupportedFeatureError,
} from './transport-errors.js';
