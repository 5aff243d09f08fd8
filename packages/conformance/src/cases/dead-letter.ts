import assert from 'node:assert/strict';
import { Client, DEAD_LETTER_REASON_HEADER, defineTask, Worker } from '@conveyor/core';
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
    assert.equal(letter.message?.headers[DEAD_LETTER_REASON_HEADER], reason, 'the reason is kept');
    assert.deepEqual(
      Buffer.from(letter.message!.body),
      Buffer.from(original.body),
      'the dead-lettered body is the original',
    );
    assert.equal((await transport.queueDepth(queue)).ready, 0, 'a rejected message must leave its queue');
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
    assert.deepEqual([...ran].sort(), [1, 2, 3], 'valid tasks behind the malformed one ran');
    assert.equal(reasons.length, 1, 'exactly the malformed message was rejected');
    const dead = await new ConsumerProbe(await ctx.transport(), dlq, 1, 'ack').start();
    await dead.waitForCount(1, ctx.patienceMs);
    const reason = dead.deliveries[0]!.message?.headers[DEAD_LETTER_REASON_HEADER];
    assert.match(String(reason), /malformed/i, 'the dead-letter reason says why');
    assert.equal(idOf(dead.deliveries[0]!), undefined, 'the dead letter is the raw payload, not a task');
  },
});
