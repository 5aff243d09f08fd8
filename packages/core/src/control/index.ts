export { type ControlTaskInfo, ControlTaskTracker, celeryRequestInfo } from './control-state.js';
export {
  type ControlRequest,
  decodeControlRequest,
  encodeControlReply,
  isAddressedTo,
  MalformedControlRequestError,
  PIDBOX_EXCHANGE,
  replyExchange,
} from './pidbox.js';
export {
  DEFAULT_REVOKE_EXPIRES_SECONDS,
  DEFAULT_REVOKES_MAX,
  RevokedIds,
  type RevokedIdsOptions,
} from './revoked-ids.js';
export {
  CONTROL_COMMANDS,
  type ControlledWorker,
  type RevokeListener,
  WorkerRemoteControl,
  type WorkerRemoteControlOptions,
} from './worker-remote-control.js';
