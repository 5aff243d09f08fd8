import { describe, expect, it } from 'vitest';
import {
  ackRemovesTheMessage,
  type ConformanceCase,
  closedConsumerMessagesAreRedelivered,
  closeInFlightLosesNothing,
  delayedMessagesWaitTheirDelay,
  nackRequeueRedelivers,
  prefetchBoundIsNeverExceeded,
  runCase,
} from '../src/index.js';
import { memoryHarness } from './memory-harness.js';
import {
  AcksBeforeHandler,
  DropsMessagesOnClose,
  IgnoresDelays,
  IgnoresPrefetch,
  LosesNackedMessages,
  RedeliversAckedMessages,
} from './mutants.js';

type MutantClass = new (
  inner: import('@conveyor/core').MemoryTransport,
) => import('@conveyor/core').Transport;

// Each deliberately broken transport must be caught by the case named here, and the same case
// must pass on the honest MemoryTransport: the failure is the mutant's, not the case's.
const mutants: [MutantClass, ConformanceCase][] = [
  [LosesNackedMessages, nackRequeueRedelivers],
  [RedeliversAckedMessages, ackRemovesTheMessage],
  [IgnoresDelays, delayedMessagesWaitTheirDelay],
  [IgnoresPrefetch, prefetchBoundIsNeverExceeded],
  [AcksBeforeHandler, closedConsumerMessagesAreRedelivered],
  [DropsMessagesOnClose, closeInFlightLosesNothing],
];

describe('the suite catches broken transports', () => {
  for (const [Mutant, testCase] of mutants) {
    it(`${Mutant.name} fails ${testCase.id} (${testCase.title})`, async () => {
      const broken = await runCase(testCase, {
        ...memoryHarness(Mutant.name, {}, (t) => new Mutant(t)),
        patienceMs: 3000,
      });
      expect(broken.status, `the mutant passed ${testCase.id}`).toBe('failed');
      expect(broken.reason).toBeTruthy();
      const honest = await runCase(testCase, memoryHarness(`honest-${Mutant.name}`));
      expect(honest.status, honest.reason).toBe('passed');
    });
  }
});
