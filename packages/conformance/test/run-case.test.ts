import { describe, expect, it } from 'vitest';
import { nackRequeueRedelivers, rejectDeadLettersWithReason, runCase } from '../src/index.js';
import { memoryHarness } from './memory-harness.js';
import { ComplainsAndLosesNacks } from './mutants.js';

describe('runCase', () => {
  it('gives cleanup every queue the case used, dead-letter queues included', async () => {
    const cleaned: string[] = [];
    const harness = {
      ...memoryHarness('memory-cleanup'),
      cleanup: async (queues: readonly string[]) => {
        cleaned.push(...queues);
      },
    };
    const result = await runCase(rejectDeadLettersWithReason, harness);
    expect(result.status, result.reason).toBe('passed');
    // DLQ-01 declares its queue with a dead-letter queue of its own (`…-dlq2`).
    const source = cleaned.find((q) => /-q1$/.test(q))!;
    const declaredDlq = cleaned.find((q) => /-dlq2$/.test(q))!;
    expect(cleaned).toEqual(expect.arrayContaining([source, `${source}.dlq`, declaredDlq]));
  });

  it('quotes what the transport reported through onError when a case fails', async () => {
    const result = await runCase(nackRequeueRedelivers, {
      ...memoryHarness('complains', {}, (t) => new ComplainsAndLosesNacks(t)),
      patienceMs: 1000,
    });
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(
      /timed out .* waiting for 2 deliveries.*; transport reported: BrokerConnectionError \[CONNECTION_FAILED\]: connection to 127\.0\.0\.1:5672 reset, reconnecting$/,
    );
  });
});
