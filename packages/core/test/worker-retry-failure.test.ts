import { afterEach, describe, expect, it } from 'vitest';
import {
  BrokerConnectionError,
  Client,
  DEAD_LETTER_REASON_HEADER,
  type Delivery,
  defineTask,
  MemoryTransport,
  MessageTooLargeError,
  type PublishOptions,
  type WireMessage,
  Worker,
} from '../src/index.js';
import { defineCapabilities, encodeTaskMessage } from '../src/transport-authors.js';
import { collect, eventually, pause, uniqueBroker } from './helpers.js';

/**
 * A MemoryTransport whose publishes fail while `failing` is set: a broker that refuses the
 * worker's retry (too large for it, or unreachable for a while). Dead letters go through the
 * delivery, not through publish, so they still reach the broker.
 */
class RefusingTransport extends MemoryTransport {
  failing: (() => Error) | undefined;
  refused = 0;
  override publish(queue: string, message: WireMessage, options?: PublishOptions): Promise<void> {
    if (this.failing) {
      this.refused += 1;
      return Promise.reject(this.failing());
    }
    return super.publish(queue, message, options);
  }
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

const RETRY = { maxRetries: 3, initialDelayMs: 5, factor: 1, maxDelayMs: 5, jitter: 'none' } as const;
const reasonOf = (d: Delivery) => String(d.message?.headers[DEAD_LETTER_REASON_HEADER]);

async function setUp(failing: () => Error) {
  const broker = uniqueBroker('retry-refused');
  const workerSide = new RefusingTransport({ broker });
  const clientSide = new MemoryTransport({ broker });
  await clientSide.connect();
  let runs = 0;
  const flaky = defineTask({
    name: 'flaky',
    retry: RETRY,
    handler: () => {
      runs += 1;
      throw new TypeError('boom');
    },
  });
  const worker = new Worker({ transport: workerSide, tasks: [flaky] });
  const errors: unknown[] = [];
  worker.on('error', ({ error }) => errors.push(error));
  cleanups.push(
    () => clientSide.close(),
    () => worker.stop({ deadlineMs: 0 }),
  );
  await worker.start();
  workerSide.failing = failing;
  const dead = await collect(clientSide, 'celery.dlq');
  await new Client({ transport: clientSide }).send(flaky, []);
  return { dead, errors, runs: () => runs, workerSide };
}

describe('Worker: a retry that cannot be published', () => {
  it('dead-letters at once, with both errors, when the broker refuses the retry for good', async () => {
    const { dead, runs } = await setUp(() => new MessageTooLargeError(9_000_000, 4_194_304));
    await eventually(() => expect(dead).toHaveLength(1));
    await pause(50); // a hot loop would run the task again meanwhile
    expect(runs()).toBe(1);
    expect(reasonOf(dead[0]!)).toMatch(
      /^retry could not be published \(the broker refused it\): MessageTooLargeError: .*; task error: TypeError: boom$/,
    );
  });

  it('counts a retry that could not be stored as an attempt, backs off, and dead-letters when they are spent', async () => {
    const { dead, runs, workerSide } = await setUp(() => new BrokerConnectionError('broker unreachable'));
    await eventually(() => expect(dead).toHaveLength(1));
    // 1 run + maxRetries attempts; before the fix the original was nacked at once with the same
    // retry count, forever (tens of thousands of runs a second).
    expect(runs()).toBe(RETRY.maxRetries + 1);
    expect(workerSide.refused).toBeGreaterThanOrEqual(RETRY.maxRetries + 1);
    expect(reasonOf(dead[0]!)).toMatch(
      /^retry could not be published \(gave up after 4 attempts\): BrokerConnectionError: broker unreachable; task error: TypeError: boom$/,
    );
  });

  it('gives back, after a pause, a message whose early-eta re-delay fails, instead of holding it', async () => {
    const broker = uniqueBroker('defer-refused');
    const workerSide = new RefusingTransport({ broker });
    const clientSide = new MemoryTransport({ broker });
    await clientSide.connect();
    const later = defineTask({ name: 'later', handler: () => 'ran' });
    const worker = new Worker({ transport: workerSide, tasks: [later], concurrency: 1 });
    cleanups.push(
      () => clientSide.close(),
      () => worker.stop({ deadlineMs: 0 }),
    );
    await worker.start();
    workerSide.failing = () => new BrokerConnectionError('broker unreachable');
    // Celery's way of sending a countdown: at once, with an eta the worker must re-delay.
    const eta = new Date(Date.now() + 60_000);
    await clientSide.publish(
      'celery',
      encodeTaskMessage({ id: 'early', task: 'later', args: [], kwargs: {}, eta }),
    );
    await eventually(() => expect(workerSide.refused).toBeGreaterThan(0));
    // Before the fix the delivery stayed unsettled, holding the worker's only slot until close.
    await eventually(() =>
      expect(clientSide.queueDepth('celery')).resolves.toMatchObject({ inFlight: 0, delayed: 1 }),
    );
  });
});

describe('an eta within the transport delay precision', () => {
  /** A transport whose delays are only good to 2 s (Kafka's claim), so re-delaying cannot help. */
  class CoarseDelays extends MemoryTransport {
    override readonly capabilities = defineCapabilities({
      ...new MemoryTransport().capabilities,
      delay: { mode: 'native', maxDelayMs: null, precisionMs: 2000 },
    });
  }

  it('is waited out in the worker: the task never starts before its eta', async () => {
    const broker = uniqueBroker('eta-within-precision');
    const transport = new CoarseDelays({ broker });
    let startedAt = 0;
    const soon = defineTask({
      name: 'soon',
      handler: () => {
        startedAt = Date.now();
      },
    });
    const worker = new Worker({ transport, tasks: [soon], concurrency: 1 });
    cleanups.push(() => worker.stop({ deadlineMs: 0 }));
    await worker.start();
    const eta = new Date(Date.now() + 700);
    await transport.publish(
      'celery',
      encodeTaskMessage({ id: 'soon', task: 'soon', args: [], kwargs: {}, eta }),
    );
    await eventually(() => expect(startedAt).toBeGreaterThan(0), 5000);
    // Before the fix a remainder within the precision ran at once, up to 2 s early.
    expect(startedAt).toBeGreaterThanOrEqual(eta.getTime());
  });
});
