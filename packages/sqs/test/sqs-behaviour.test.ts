import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ConsumerProbe, expectRejection, idOf, probeMessage, sleep } from '@conveyor/conformance';
import { DEAD_LETTER_REASON_HEADER } from '@conveyor/core/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { NOT_BEFORE_ATTRIBUTE, SQS_MAX_MESSAGE_BYTES, type SqsTransport } from '../src/index.js';
import { deleteQueues, fastTransport, rawClient } from './sqs-harness.js';

const open: SqsTransport[] = [];
const used: { queues: string[]; fifo: boolean }[] = [];

function transport(extra: Parameters<typeof fastTransport>[0] = {}): SqsTransport {
  const t = fastTransport(extra);
  open.push(t);
  return t;
}

function queueName(tag: string, fifo = false, ...more: string[]): string {
  const name = `sqs-${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  used.push({ queues: [name, `${name}.dlq`, ...more.map((m) => `${name}${m}`)], fifo });
  return name;
}

afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((t) => t.close()));
  await Promise.allSettled(used.splice(0).map((u) => deleteQueues(u.queues, '', u.fifo)));
});

describe('delays longer than one SQS hop', () => {
  it('travel in hops: the early copy is sent on and deleted, never held, and arrives once when due', async () => {
    const sqs = transport({ maxNativeDelayMs: 2000 });
    const queue = queueName('hops');
    await sqs.declareQueue({ name: queue });
    const probe = await new ConsumerProbe(sqs, queue, 5, 'ack').start();
    const sentAt = Date.now();
    await sqs.publish(queue, probeMessage(`${queue}-late`), { delayMs: 5500 });
    // Hops at about 2 s and 4 s: in between, the message sits delayed in SQS, not in flight here.
    // A hop is a receive, a send and a delete, so one look may land inside it (on a slow machine,
    // near 3 s): look again until just before the second hop. A transport that held the early copy
    // in flight until due would show it in flight, not delayed, through the whole window.
    await sleep(3000);
    await expect
      .poll(
        async () => {
          const { inFlight, delayed } = await sqs.queueDepth(queue);
          return { inFlight, delayed };
        },
        { timeout: Math.max(100, sentAt + 3900 - Date.now()), interval: 50 },
      )
      .toEqual({ inFlight: 0, delayed: 1 });
    expect(probe.deliveries).toHaveLength(0);
    await probe.waitForCount(1, 20_000);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(5500 - 25);
    expect(probe.deliveries[0]!.deliveryCount).toBe(1);
    await sleep(1500);
    expect(probe.deliveries).toHaveLength(1);
  });

  it('a nack delay above 15 minutes is a delayed copy carrying the due time, the original deleted', async () => {
    const sqs = transport();
    const queue = queueName('longnack');
    await sqs.declareQueue({ name: queue });
    await sqs.publish(queue, probeMessage(`${queue}-x`));
    const probe = await new ConsumerProbe(sqs, queue, 1, 'hold').start();
    await probe.waitForCount(1, 10_000);
    await probe.nack(probe.deliveries[0]!, 60 * 60 * 1000);
    probe.stop();
    const client = rawClient();
    const url = await sqs.queueUrl(queue);
    const attrs = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    client.destroy();
    expect(attrs.Attributes?.ApproximateNumberOfMessagesDelayed).toBe('1');
    let inFlight: number | undefined = -1;
    for (let i = 0; i < 50 && inFlight !== 0; i++) {
      inFlight = (await sqs.queueDepth(queue)).inFlight;
      if (inFlight !== 0) await sleep(100);
    }
    expect(inFlight, 'the nacked original is deleted, not left in flight').toBe(0);
  });
});

describe('reject', () => {
  it('copies the message to the mangled <queue>.dlq with the reason as header and message attribute', async () => {
    const sqs = transport();
    const queue = queueName('reject');
    await sqs.declareQueue({ name: queue });
    await sqs.publish(queue, probeMessage(`${queue}-bad`));
    const probe = await new ConsumerProbe(sqs, queue, 1, 'hold').start();
    await probe.waitForCount(1, 10_000);
    await probe.deliveries[0]!.reject('poison: 42');
    const client = rawClient();
    const dlqUrl = await sqs.queueUrl(`${queue}.dlq`);
    expect(dlqUrl.endsWith(`${queue}-dlq`)).toBe(true);
    const got = await client.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
    );
    client.destroy();
    expect(got.Messages?.[0]?.MessageAttributes?.[DEAD_LETTER_REASON_HEADER]?.StringValue).toBe('poison: 42');
    const depth = await sqs.queueDepth(queue);
    expect(depth.ready + (depth.inFlight ?? 0)).toBe(0);
  });

  it('redriveMaxReceiveCount creates the dead-letter queue and sets the RedrivePolicy', async () => {
    const sqs = transport({ redriveMaxReceiveCount: 50 });
    const queue = queueName('redrive');
    await sqs.declareQueue({ name: queue });
    const client = rawClient();
    const attrs = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: await sqs.queueUrl(queue),
        AttributeNames: ['RedrivePolicy'],
      }),
    );
    client.destroy();
    const policy = JSON.parse(attrs.Attributes?.RedrivePolicy ?? '{}');
    expect(Number(policy.maxReceiveCount)).toBe(50);
    expect(String(policy.deadLetterTargetArn)).toMatch(new RegExp(`${queue}-dlq$`));
  });
});

describe('size', () => {
  it('measures the encoded message: a body within maxMessageBytes with huge headers is MessageTooLargeError naming size and limit', async () => {
    const sqs = transport();
    const queue = queueName('size');
    await sqs.declareQueue({ name: queue });
    const message = probeMessage(`${queue}-big`);
    message.headers.padding = 'x'.repeat(200_000);
    const error = await sqs.publish(queue, message).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect(String((error as Error).message)).toContain(String(SQS_MAX_MESSAGE_BYTES));
  });

  it('publishBatch splits by 10 entries and by 256 KiB per call, and stores every entry', async () => {
    const sqs = transport();
    const queue = queueName('batch');
    await sqs.declareQueue({ name: queue });
    const big = new Uint8Array(100_000);
    const entries = Array.from({ length: 25 }, (_, i) => {
      const m = probeMessage(`${queue}-${i}`, i);
      if (i % 5 === 0) m.body = big;
      return { message: m };
    });
    await sqs.publishBatch(queue, entries);
    const probe = await new ConsumerProbe(sqs, queue, 25, 'ack').start();
    await probe.waitForIds(
      entries.map((e) => String(e.message.headers.id)),
      15_000,
    );
    expect(new Set(probe.deliveries.map(idOf)).size).toBe(25);
  });
});

describe('publishBatch failures', () => {
  it('entries SQS refuses are named in BatchPublishError, in every call of a split batch; the others are stored', async () => {
    const sqs = transport({ fifo: true });
    const queue = queueName('partial', true);
    await sqs.declareQueue({ name: queue });
    // SQS refuses a MessageGroupId longer than 128 characters, entry by entry.
    const bad = new Set([3, 11]);
    const entries = Array.from({ length: 14 }, (_, i) => ({
      message: probeMessage(`${queue}-${i}`, i),
      options: { orderingKey: bad.has(i) ? 'k'.repeat(200) : 'k' },
    }));
    const error = (await sqs.publishBatch(queue, entries).catch((e: unknown) => e)) as {
      code?: string;
      failed?: { index: number; error: unknown }[];
    };
    expect(error.code).toBe('BATCH_PUBLISH_FAILED');
    expect(error.failed?.map((f) => f.index)).toEqual([3, 11]);
    expect(String((error.failed?.[0]?.error as Error | undefined)?.message)).toMatch(/MessageGroupId/);
    const probe = await new ConsumerProbe(sqs, queue, 10, 'ack').start();
    const stored = entries.map((e) => String(e.message.headers.id)).filter((_, i) => !bad.has(i));
    await probe.waitForIds(stored, 15_000);
    await sleep(1000);
    expect(probe.deliveries.map(idOf)).toEqual(stored);
  });
});

it('a standard queue hands out no ordering key, even for a message sent with a group (SQS fair queues)', async () => {
  const sqs = transport();
  const queue = queueName('fair');
  await sqs.declareQueue({ name: queue });
  const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
  const client = rawClient();
  const body = Buffer.from(
    JSON.stringify({
      body: Buffer.from('[[], {}, {}]').toString('base64'),
      'content-encoding': 'utf-8',
      'content-type': 'application/json',
      headers: { id: `${queue}-fair`, task: 'conformance.probe' },
      properties: {
        body_encoding: 'base64',
        delivery_tag: 't',
        delivery_info: { exchange: '', routing_key: queue },
      },
    }),
  ).toString('base64');
  await client.send(
    new SendMessageCommand({
      QueueUrl: await sqs.queueUrl(queue),
      MessageBody: body,
      MessageGroupId: 'tenant-1',
    }),
  );
  client.destroy();
  await sqs.publish(queue, probeMessage(`${queue}-plain`));
  const probe = await new ConsumerProbe(sqs, queue, 5, 'ack').start();
  await probe.waitForIds([`${queue}-fair`, `${queue}-plain`], 10_000);
  for (const d of probe.deliveries) expect(d.orderingKey).toBeUndefined();
});

describe('FIFO', () => {
  it('extendVisibility keeps a message of its own group held past the timeout', async () => {
    // 2 s of visibility leaves room for the extension to arrive in time on a slow machine.
    const sqs = transport({ fifo: true, visibilityTimeoutMs: 2000 });
    const queue = queueName('fifoext', true);
    await sqs.declareQueue({ name: queue });
    await sqs.publish(queue, probeMessage(`${queue}-a`), { orderingKey: 'a' });
    const probe = await new ConsumerProbe(sqs, queue, 2, 'hold').start();
    await probe.waitForCount(1, 10_000);
    await probe.deliveries[0]!.extendVisibility(8000);
    await sleep(4000);
    expect(probe.deliveries).toHaveLength(1);
    await probe.ack(probe.deliveries[0]!);
  });

  it('refuses a per-message delay and names the queue FIFO; the group is the ordering key', async () => {
    const sqs = transport({ fifo: true });
    const queue = queueName('fifodelay', true);
    await sqs.declareQueue({ name: queue });
    await expectRejection(
      () => sqs.publish(queue, probeMessage(`${queue}-d`), { delayMs: 1000 }),
      'UNSUPPORTED_FEATURE',
      'a delayed publish on a FIFO transport',
      5000,
    );
    await sqs.publish(queue, probeMessage(`${queue}-k`), { orderingKey: 'customer-7' });
    await sqs.publish(queue, probeMessage(`${queue}-none`));
    const probe = await new ConsumerProbe(sqs, queue, 2, 'ack').start();
    await probe.waitForCount(2, 10_000);
    const keys = Object.fromEntries(probe.deliveries.map((d) => [idOf(d), d.orderingKey]));
    expect(keys).toEqual({ [`${queue}-k`]: 'customer-7', [`${queue}-none`]: 'default' });
  });
});

it('a long-delayed message carries its due time as a message attribute', async () => {
  const sqs = transport({ maxNativeDelayMs: 1000 });
  const queue = queueName('attr');
  await sqs.declareQueue({ name: queue });
  const before = Date.now();
  await sqs.publish(queue, probeMessage(`${queue}-a`), { delayMs: 5000 });
  await sleep(1200);
  const client = rawClient();
  const got = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: await sqs.queueUrl(queue),
      MessageAttributeNames: ['All'],
      WaitTimeSeconds: 1,
    }),
  );
  client.destroy();
  const due = Number(got.Messages?.[0]?.MessageAttributes?.[NOT_BEFORE_ATTRIBUTE]?.StringValue);
  expect(due).toBeGreaterThanOrEqual(before + 5000);
  expect(due).toBeLessThanOrEqual(Date.now() + 5000);
});
