import type { MemoryTransport } from '@conveyor/core';
import type { Transport } from '@conveyor/core/transport';
import { describe, expect, it } from 'vitest';
import {
  ackRemovesTheMessage,
  binaryGarbageIsDeadLetteredUnchanged,
  type ConformanceCase,
  carriedDeliveryCountIsKept,
  closedConsumerMessagesAreRedelivered,
  closeInFlightLosesNothing,
  delayedMessagesWaitTheirDelay,
  deliveryCountRisesOnEveryRedelivery,
  everythingAfterCloseRejects,
  extendVisibilityKeepsItsContract,
  nackRequeueRedelivers,
  prefetchBoundIsNeverExceeded,
  queueDepthCountsInFlightAndDelayed,
  runCase,
  settleAfterLeaseLossReportsLeaseLost,
  textGarbageIsDeadLetteredUnchanged,
} from '../src/index.js';
import { memoryHarness } from './memory-harness.js';
import {
  AcksBeforeHandler,
  DeadLettersGarbageWithoutItsBytes,
  DelayedNackResetsDeliveryCount,
  DepthIgnoresInFlightAndDelayed,
  DropsMessagesOnClose,
  ExtendDoesNothing,
  ExtendVisibilityIgnoresRange,
  IgnoresCarriedCount,
  IgnoresDelays,
  IgnoresPrefetch,
  LateAckAfterLeaseLossSucceeds,
  LosesNackedMessages,
  RedeliversAckedMessages,
  SettleAfterCloseSucceeds,
  TimeoutRedeliveryKeepsCount,
} from './mutants.js';

type MutantClass = new (inner: MemoryTransport) => Transport;

/** The cases that pin the rules added with suite 0.2.0 (lease loss, counts, depth, close, extension). */
const CONTRACT_CASES: readonly ConformanceCase[] = [
  settleAfterLeaseLossReportsLeaseLost,
  deliveryCountRisesOnEveryRedelivery,
  queueDepthCountsInFlightAndDelayed,
  everythingAfterCloseRejects,
  extendVisibilityKeepsItsContract,
];

// Each deliberately broken transport must be caught by the case named here, and the same case
// must pass on the honest MemoryTransport: the failure is the mutant's, not the case's.
const mutants: [MutantClass, ConformanceCase][] = [
  [LosesNackedMessages, nackRequeueRedelivers],
  [RedeliversAckedMessages, ackRemovesTheMessage],
  [IgnoresDelays, delayedMessagesWaitTheirDelay],
  [IgnoresPrefetch, prefetchBoundIsNeverExceeded],
  [AcksBeforeHandler, closedConsumerMessagesAreRedelivered],
  [DropsMessagesOnClose, closeInFlightLosesNothing],
  [LateAckAfterLeaseLossSucceeds, settleAfterLeaseLossReportsLeaseLost],
  [DelayedNackResetsDeliveryCount, deliveryCountRisesOnEveryRedelivery],
  [TimeoutRedeliveryKeepsCount, deliveryCountRisesOnEveryRedelivery],
  [IgnoresCarriedCount, carriedDeliveryCountIsKept],
  [DepthIgnoresInFlightAndDelayed, queueDepthCountsInFlightAndDelayed],
  [SettleAfterCloseSucceeds, everythingAfterCloseRejects],
  [ExtendVisibilityIgnoresRange, extendVisibilityKeepsItsContract],
  [ExtendDoesNothing, extendVisibilityKeepsItsContract],
  [DeadLettersGarbageWithoutItsBytes, textGarbageIsDeadLetteredUnchanged],
  [DeadLettersGarbageWithoutItsBytes, binaryGarbageIsDeadLetteredUnchanged],
];

/** What the failure reason must say, so that a reader knows why without reading the case. */
const REASONS = new Map<MutantClass, RegExp>([
  [
    LateAckAfterLeaseLossSucceeds,
    /ack of a delivery held past its 1000 ms visibility timeout.*LeaseLostError.*but it resolved/,
  ],
  [DelayedNackResetsDeliveryCount, /expected deliveryCount 2 after a nack with delayMs \d+, got 1/],
  [TimeoutRedeliveryKeepsCount, /expected deliveryCount 2 after a 1000 ms visibility timeout, got 1/],
  [IgnoresCarriedCount, /expected deliveryCount 4 for a first delivery of a copy carrying 3, got 1/],
  [
    DepthIgnoresInFlightAndDelayed,
    /expected ready 1, inFlight 2 .*delayed 3 .*got ready 1, inFlight 0, delayed 0/,
  ],
  [
    SettleAfterCloseSucceeds,
    /ack\(\) of a delivery open at close: expected TransportClosedError.*but it resolved/,
  ],
  [
    ExtendVisibilityIgnoresRange,
    /extendVisibility\(0\) .*InvalidOptionError \(code 'INVALID_OPTION'\), but it resolved/,
  ],
  [ExtendDoesNothing, /extended to 8 s on a 1 s timeout, but redelivered after [\d.]+ s/],
  [DeadLettersGarbageWithoutItsBytes, /no unchanged dead letter of: /],
]);

const brokenHarness = (Mutant: MutantClass) => ({
  ...memoryHarness(Mutant.name, {}, (t) => new Mutant(t)),
  patienceMs: 3000,
});

describe('the suite catches broken transports', () => {
  for (const [Mutant, testCase] of mutants) {
    it(`${Mutant.name} fails ${testCase.id} (${testCase.title})`, async () => {
      const broken = await runCase(testCase, brokenHarness(Mutant));
      expect(broken.status, `the mutant passed ${testCase.id}`).toBe('failed');
      expect(broken.reason).toBeTruthy();
      const reason = REASONS.get(Mutant);
      if (reason) expect(broken.reason).toMatch(reason);
      const honest = await runCase(testCase, memoryHarness(`honest-${Mutant.name}`));
      expect(honest.status, honest.reason).toBe('passed');
    });
  }
});

// A mutant of a contract rule is caught by the case for that rule and by no other contract case:
// each case pins its own rule.
describe.concurrent('each contract mutant is caught by its own case only', () => {
  for (const [Mutant, catcher] of mutants) {
    if (!CONTRACT_CASES.includes(catcher)) continue;
    const others = CONTRACT_CASES.filter((c) => c !== catcher);
    it(`${Mutant.name} passes ${others.map((c) => c.id).join(', ')}`, async () => {
      const results = await Promise.all(others.map((c) => runCase(c, brokenHarness(Mutant))));
      for (const result of results) expect(result.status, `${result.id}: ${result.reason}`).toBe('passed');
    });
  }
});
