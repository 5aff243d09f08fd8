import type { ConformanceCase } from '../case.js';
import { ackRemovesTheMessage, nackRequeueRedelivers, secondSettleIsANoop } from './acknowledgement.js';
import {
  abortedConsumerStopsAndReturnsMessages,
  closedConsumerMessagesAreRedelivered,
  closeInFlightLosesNothing,
  visibilityTimeoutRedelivers,
} from './consumer-loss.js';
import { malformedPayloadIsDeadLettered, rejectDeadLettersWithReason } from './dead-letter.js';
import { deduplicationDropsRepeats } from './deduplication.js';
import { delayedMessagesWaitTheirDelay, nackWithDelayWaits } from './delay.js';
import { connectAndCloseAreIdempotent, queueDepthCountsReadyMessages } from './lifecycle.js';
import { manifestIsCompleteAndStable } from './manifest.js';
import { largestMessagePassesLargerFails } from './message-size.js';
import { keyOrderIsKept, queueOrderIsKept } from './ordering.js';
import { prefetchBoundIsNeverExceeded } from './prefetch.js';
import { higherPriorityIsDeliveredFirst } from './priority.js';
import {
  batchPublishDeliversEveryEntry,
  everythingPublishedIsConsumed,
  queuesAreIsolated,
} from './publish.js';
import { consumerSurvivesConnectionCut, publishAfterCutIsNotSilentlyLost } from './reconnect.js';
import { unclaimedFeaturesThrow } from './unsupported.js';

export * from './acknowledgement.js';
export * from './consumer-loss.js';
export * from './dead-letter.js';
export * from './deduplication.js';
export * from './delay.js';
export * from './lifecycle.js';
export * from './manifest.js';
export * from './message-size.js';
export * from './ordering.js';
export * from './prefetch.js';
export * from './priority.js';
export * from './publish.js';
export * from './reconnect.js';
export * from './unsupported.js';

/** Every case, in the order the suite runs them. */
export const ALL_CASES: readonly ConformanceCase[] = Object.freeze([
  manifestIsCompleteAndStable,
  connectAndCloseAreIdempotent,
  queueDepthCountsReadyMessages,
  everythingPublishedIsConsumed,
  batchPublishDeliversEveryEntry,
  queuesAreIsolated,
  ackRemovesTheMessage,
  nackRequeueRedelivers,
  secondSettleIsANoop,
  closedConsumerMessagesAreRedelivered,
  abortedConsumerStopsAndReturnsMessages,
  visibilityTimeoutRedelivers,
  closeInFlightLosesNothing,
  rejectDeadLettersWithReason,
  malformedPayloadIsDeadLettered,
  delayedMessagesWaitTheirDelay,
  nackWithDelayWaits,
  higherPriorityIsDeliveredFirst,
  queueOrderIsKept,
  keyOrderIsKept,
  prefetchBoundIsNeverExceeded,
  unclaimedFeaturesThrow,
  largestMessagePassesLargerFails,
  deduplicationDropsRepeats,
  consumerSurvivesConnectionCut,
  publishAfterCutIsNotSilentlyLost,
]);
