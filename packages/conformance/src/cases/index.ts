import type { ConformanceCase } from '../case.js';
import { ackRemovesTheMessage, nackRequeueRedelivers, secondSettleIsANoop } from './acknowledgement.js';
import { everythingAfterCloseRejects } from './after-close.js';
import { broadcastReachesEverySubscription } from './broadcast.js';
import {
  abortDuringConsumeStops,
  abortedConsumerStopsAndReturnsMessages,
  closedConsumerMessagesAreRedelivered,
  closeInFlightLosesNothing,
  visibilityTimeoutRedelivers,
} from './consumer-loss.js';
import {
  binaryGarbageIsDeadLetteredUnchanged,
  malformedPayloadIsDeadLettered,
  rejectDeadLettersWithReason,
  textGarbageIsDeadLetteredUnchanged,
} from './dead-letter.js';
import { deduplicationDropsRepeats } from './deduplication.js';
import { delayedMessagesWaitTheirDelay, nackWithDelayWaits } from './delay.js';
import { carriedDeliveryCountIsKept, deliveryCountRisesOnEveryRedelivery } from './delivery-count.js';
import { settleAfterLeaseLossReportsLeaseLost } from './lease.js';
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
import { queueDepthCountsInFlightAndDelayed } from './queue-depth.js';
import { consumerSurvivesConnectionCut, publishAfterCutIsNotSilentlyLost } from './reconnect.js';
import { unclaimedFeaturesThrow } from './unsupported.js';
import { extendVisibilityKeepsItsContract } from './visibility-extension.js';

export * from './acknowledgement.js';
export * from './after-close.js';
export * from './broadcast.js';
export * from './consumer-loss.js';
export * from './dead-letter.js';
export * from './deduplication.js';
export * from './delay.js';
export * from './delivery-count.js';
export * from './lease.js';
export * from './lifecycle.js';
export * from './manifest.js';
export * from './message-size.js';
export * from './ordering.js';
export * from './prefetch.js';
export * from './priority.js';
export * from './publish.js';
export * from './queue-depth.js';
export * from './reconnect.js';
export * from './unsupported.js';
export * from './visibility-extension.js';

/** Every case, in the order the suite runs them. */
export const ALL_CASES: readonly ConformanceCase[] = Object.freeze([
  manifestIsCompleteAndStable,
  connectAndCloseAreIdempotent,
  queueDepthCountsReadyMessages,
  queueDepthCountsInFlightAndDelayed,
  everythingPublishedIsConsumed,
  batchPublishDeliversEveryEntry,
  queuesAreIsolated,
  ackRemovesTheMessage,
  nackRequeueRedelivers,
  secondSettleIsANoop,
  deliveryCountRisesOnEveryRedelivery,
  carriedDeliveryCountIsKept,
  closedConsumerMessagesAreRedelivered,
  abortedConsumerStopsAndReturnsMessages,
  abortDuringConsumeStops,
  visibilityTimeoutRedelivers,
  settleAfterLeaseLossReportsLeaseLost,
  extendVisibilityKeepsItsContract,
  closeInFlightLosesNothing,
  everythingAfterCloseRejects,
  rejectDeadLettersWithReason,
  malformedPayloadIsDeadLettered,
  textGarbageIsDeadLetteredUnchanged,
  binaryGarbageIsDeadLetteredUnchanged,
  delayedMessagesWaitTheirDelay,
  nackWithDelayWaits,
  higherPriorityIsDeliveredFirst,
  queueOrderIsKept,
  keyOrderIsKept,
  prefetchBoundIsNeverExceeded,
  unclaimedFeaturesThrow,
  largestMessagePassesLargerFails,
  deduplicationDropsRepeats,
  broadcastReachesEverySubscription,
  consumerSurvivesConnectionCut,
  publishAfterCutIsNotSilentlyLost,
]);
