import assert from 'node:assert/strict';
import { Client, defineTask, Worker } from '@conveyor/core';
import { DEAD_LETTER_REASON_HEADER } from '@conveyor/core/transport';
import { type CaseContext, defineCase } from '../case.js';
import { ConsumerProbe } from '../support/consumer-probe.js';
import {
  binaryGarbage,
  type GarbagePayload,
  isDeadLetterOf,
  missingDeadLetterHeaders,
  textGarbage,
} from '../support/garbage-payloads.js';
import { idOf, PROBE_TASK, probeMessage } from '../support/probe-message.js';
import { sleep, waitUntil } from '../support/wait.js';

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

/**
 * Writes `garbage` straight into a queue, each item between valid tasks, and checks with a real
 * Worker that every valid task ran exactly once, that the worker still runs tasks afterwards, and
 * that the dead-letter queue holds exactly the garbage, each item unchanged (as §2.4 of the
 * transport contract defines a dead letter) and with a reason.
 */
async function garbageIsDeadLetteredAmongValidTasks(
  ctx: CaseContext,
  garbage: (tag: string) => GarbagePayload[],
): Promise<void> {
  const transport = await ctx.transport();
  const queue = ctx.queue();
  const dlq = `${queue}.dlq`;
  await transport.declareQueue({ name: queue, deadLetterQueue: dlq });
  const items = garbage(queue);
  const client = new Client({ transport, defaultQueue: queue });
  const ran: number[] = [];
  const probeTask = defineTask({
    name: PROBE_TASK,
    handler: ([seq]: [number]) => {
      ran.push(seq);
    },
  });
  for (const [index, item] of items.entries()) {
    await client.send(probeTask, [index]);
    await ctx.harness.publishRaw!(queue, item.bytes);
  }
  const valid = items.length + 1;
  await client.send(probeTask, [items.length]);
  const worker = new Worker({
    transport: await ctx.transport(),
    tasks: [probeTask],
    queues: [queue],
    concurrency: 4,
  });
  const reasons: string[] = [];
  worker.on('rejected', (event) => reasons.push(event.reason));
  await worker.start();
  try {
    await waitUntil(
      () => ran.length >= valid && reasons.length >= items.length,
      ctx.patienceMs,
      () =>
        `${valid} valid tasks to run and ${items.length} garbage payloads to be rejected (ran ${ran.length}, rejected ${reasons.length})`,
    );
    // Still consuming after all that: one more task, sent after the garbage was handled, runs.
    await client.send(probeTask, [valid]);
    await waitUntil(
      () => ran.includes(valid),
      ctx.patienceMs,
      () => 'a task sent after the garbage to run (the worker stopped consuming?)',
    );
  } finally {
    await worker.stop({ deadlineMs: 1000 });
  }
  const ranSorted = [...ran].sort((a, b) => a - b);
  assert.deepEqual(
    ranSorted,
    Array.from({ length: valid + 1 }, (_, i) => i),
    `expected the ${valid + 1} valid tasks around the garbage to run exactly once each, ran [${ranSorted.join(', ')}]`,
  );
  assert.equal(
    reasons.length,
    items.length,
    `expected exactly ${items.length} rejections (one per garbage payload), got ${reasons.length}: ${reasons.join(' | ')}`,
  );
  assert.equal(
    ({} as Record<string, unknown>).polluted,
    undefined,
    'Object.prototype was polluted by a __proto__ key',
  );

  const dead = await new ConsumerProbe(await ctx.transport(), dlq, 10, 'ack').start();
  await dead.waitForCount(items.length, ctx.patienceMs);
  // Anything beyond the garbage would arrive within the same polls; wait a little for it.
  await sleep(1000);
  assert.equal(
    dead.deliveries.length,
    items.length,
    `expected the dead-letter queue to hold exactly the ${items.length} garbage payloads, it held ${dead.deliveries.length}`,
  );
  const unmatched = new Set(items);
  const problems: string[] = [];
  for (const letter of dead.deliveries) {
    const missing = missingDeadLetterHeaders(letter, queue);
    if (missing) problems.push(missing);
    const item = [...unmatched].find((candidate) => isDeadLetterOf(letter, candidate));
    if (item) unmatched.delete(item);
    else {
      const body = letter.message ? Buffer.from(letter.message.body) : Buffer.alloc(0);
      problems.push(
        `a dead letter matches no garbage payload unchanged (${body.byteLength} bytes, starts ${JSON.stringify(body.subarray(0, 60).toString('latin1'))}, content type ${JSON.stringify(letter.message?.properties.content_type)})`,
      );
    }
  }
  for (const item of unmatched) problems.push(`no unchanged dead letter of: ${item.label}`);
  assert.deepEqual(problems, [], `dead letters not as written: ${problems.join('; ')}`);
}

/**
 * DLQ-03: garbage that is text (truncated and deeply nested JSON, JSON of the wrong shape, huge
 * numbers, `__proto__` keys, kombu envelopes whose body no task decoder accepts), written straight
 * into a queue between valid tasks, lands in the dead-letter queue unchanged and with a reason.
 */
export const textGarbageIsDeadLetteredUnchanged = defineCase({
  id: 'DLQ-03',
  title:
    'garbage text on the wire, among valid tasks, is dead-lettered unchanged with a reason; every task runs once',
  verifies: ['deadLetter', 'malformed'],
  requires(caps, harness) {
    if (!caps.deadLetter) return DEAD_LETTER_CLAIM;
    if (!harness.publishRaw) return 'harness.publishRaw is not provided';
    return undefined;
  },
  run: (ctx) => garbageIsDeadLetteredAmongValidTasks(ctx, textGarbage),
});

/**
 * DLQ-04: the same for payloads that are not text (random bytes, bytes that are not UTF-8 inside
 * an envelope, control bytes, an empty payload). A broker whose bodies are text (SQS) cannot hold
 * them unchanged: its harness says `rawPayloads: 'text'`, and the case is skipped with that reason.
 */
export const binaryGarbageIsDeadLetteredUnchanged = defineCase({
  id: 'DLQ-04',
  title:
    'garbage bytes (not UTF-8, control bytes, empty) on the wire are dead-lettered byte for byte; every task runs once',
  verifies: ['deadLetter', 'malformed'],
  requires(caps, harness) {
    if (!caps.deadLetter) return DEAD_LETTER_CLAIM;
    if (!harness.publishRaw) return 'harness.publishRaw is not provided';
    if (harness.rawPayloads === 'text') {
      return "harness.rawPayloads is 'text': the broker's bodies are text, bytes that are not UTF-8 cannot be written unchanged";
    }
    return undefined;
  },
  run: (ctx) => garbageIsDeadLetteredAmongValidTasks(ctx, binaryGarbage),
});
