import assert from 'node:assert/strict';
import { Client, defineTask, Worker } from '@conveyor/core';
import { DEAD_LETTER_REASON_HEADER } from '@conveyor/core/transport';
import { defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import { idOf, PROBE_TASK, probeMessage } from '../support/probe-message.js';
import { waitUntil } from '../support/wait.js';

const DEAD_LETTER_CLAIM = 'capabilities.deadLetter is false';

/** DLQ-01: reject moves the message to the dead-letter queue with its reason; the source is empty. */
export const rejectDeadLettersWithReason = defineCase({
  id: 'DLQ-01',
  title: 'reject moves the message to the dead-letter queue with its reason',
  verifies: ['deadLetter'],
  requires: (caps) => (caps.deadLetter ? undefined : DEAD_LETTER_CLAIM),
  async run(ctx) {
    const transport = await ctx.transport();
    const queue = ctx.queue();
    const dlq = ctx.queue('dlq');
    await transport.declareQueue({ name: queue, deadLetterQueue: dlq });
    await transport.declareQueue({ name: dlq, deadLetterQueue: null });
    const id = `${queue}-poison`;
    const original = probeMessage(id, 42);
    await transport.publish(queue, original);
    const probe = await new ConsumerProbe(transport, queue, 1, 'hold').start();
    await probe.waitForCount(1, ctx.patienceMs);
    const reason = `conformance says no: ${id} ✗`;
    await probe.reject(probe.deliveries[0]!, reason);
    const dead = await new ConsumerProbe(await ctx.transport(), dlq, 1, 'ack').start();
    await dead.waitForIds([id], ctx.patienceMs);
    const letter = dead.deliveries[0]!;
    const kept = letter.message?.headers[DEAD_LETTER_REASON_HEADER];
    assert.equal(
      kept,
      reason,
      `expected header ${DEAD_LETTER_REASON_HEADER} ${JSON.stringify(reason)} on the dead letter, got ${JSON.stringify(kept)}`,
    );
    assert.ok(
      Buffer.from(letter.message!.body).equals(Buffer.from(original.body)),
      `expected the dead letter's body to be the original ${original.body.byteLength} bytes, got ${letter.message!.body.byteLength} different bytes`,
    );
    const left = (await transport.queueDepth(queue)).ready;
    assert.equal(left, 0, `expected ready 0 on the source queue after reject, got ${left}`);
  },
});

/**
 * DLQ-02: an undecodable payload on the wire is dead-lettered with a reason by a Worker, which
 * goes on to run the valid tasks queued behind it.
 */
export const malformedPayloadIsDeadLettered = defineCase({
  id: 'DLQ-02',
  title: 'a malformed message on the wire goes to the dead-letter queue and the consumer keeps going',
  verifies: ['deadLetter', 'malformed'],
  requires(caps, harness) {
    if (!caps.deadLetter) return DEAD_LETTER_CLAIM;
    if (!harness.publishRaw) return 'harness.publishRaw is not provided';
    return undefined;
  },
  async run(ctx) {
    const transport = await ctx.transport();
    const queue = ctx.queue();
    const dlq = `${queue}.dlq`;
    await transport.declareQueue({ name: queue, deadLetterQueue: dlq });
    await ctx.harness.publishRaw!(queue, new TextEncoder().encode('{"this is": not json at all'));
    const client = new Client({ transport, defaultQueue: queue });
    const ran: number[] = [];
    const probeTask = defineTask({
      name: PROBE_TASK,
      handler: ([seq]: [number]) => {
        ran.push(seq);
      },
    });
    await client.sendMany(probeTask, [[1], [2], [3]]);
    const worker = new Worker({
      transport: await ctx.transport(),
      tasks: [probeTask],
      queues: [queue],
      concurrency: 2,
    });
    const reasons: string[] = [];
    worker.on('rejected', (event) => reasons.push(event.reason));
    await worker.start();
    try {
      await waitUntil(
        () => ran.length >= 3,
        ctx.patienceMs,
        () => `3 valid tasks to run (ran ${ran.length})`,
      );
    } finally {
      await worker.stop({ deadlineMs: 1000 });
    }
    const ranSorted = [...ran].sort();
    assert.deepEqual(
      ranSorted,
      [1, 2, 3],
      `expected the 3 valid tasks behind the malformed message to run once each, ran [${ranSorted.join(', ')}]`,
    );
    assert.equal(
      reasons.length,
      1,
      `expected exactly 1 rejection (the malformed message), got ${reasons.length}: ${reasons.join(' | ')}`,
    );
    const dead = await new ConsumerProbe(await ctx.transport(), dlq, 1, 'ack').start();
    await dead.waitForCount(1, ctx.patienceMs);
    const reason = dead.deliveries[0]!.message?.headers[DEAD_LETTER_REASON_HEADER];
    assert.match(
      String(reason),
      /malformed/i,
      `expected the dead-letter reason to say the payload was malformed, got ${JSON.stringify(reason)}`,
    );
    assert.equal(
      idOf(dead.deliveries[0]!),
      undefined,
      `expected the dead letter to be the raw payload, not a task, got task id ${idOf(dead.deliveries[0]!)}`,
    );
  },
});
