import { afterEach, describe, expect, it } from 'vitest';
import {
  BrokerConnectionError,
  Client,
  type Delivery,
  defineTask,
  MemoryTransport,
  Worker,
} from '../src/index.js';
import { eventually, uniqueBroker } from './helpers.js';
import { SettleInterceptingTransport, type SettleKind } from './settle-intercepting-transport.js';

/**
 * The memory transport, except that the first `failures` settles fail as a cut connection makes
 * them fail, before reaching the broker: the delivery stays held there, taking its prefetch slot.
 */
class CutConnectionTransport extends SettleInterceptingTransport {
  failedSettles = 0;

  constructor(
    inner: MemoryTransport,
    public failures: number,
  ) {
    super(inner);
  }

  protected override async settle(
    _kind: SettleKind,
    _delivery: Delivery,
    apply: () => Promise<void>,
  ): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      this.failedSettles += 1;
      throw new BrokerConnectionError('settle failed: socket hang up');
    }
    await apply();
  }
}

const workers: Worker[] = [];
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop({ deadlineMs: 1000 });
});

// Issue 13 §1: the chaos runner saw SQS and Kafka workers stop consuming for good after a broker
// restart: the ack failed, the give-back nack failed too, and the delivery kept its prefetch slot.
describe('a Worker whose ack and give-back both fail on a cut connection', () => {
  it('gives the message back once the connection works again, so its slot frees and the queue goes on', async () => {
    const queue = 'give-back';
    // No visibility timeout: nothing but a settle ever frees a held delivery.
    const transport = new CutConnectionTransport(
      new MemoryTransport({ broker: uniqueBroker('give-back') }),
      3,
    );
    const ran: number[] = [];
    const record = defineTask({
      name: 'give-back.record',
      ignoreResult: true,
      handler: ([n]: [number]) => {
        ran.push(n);
      },
    });
    const client = new Client({ transport, defaultQueue: queue });
    await client.send(record, [1]);
    await client.send(record, [2]);
    const errors: unknown[] = [];
    const worker = new Worker({ transport, tasks: [record], queues: [queue], concurrency: 1 });
    worker.on('error', ({ error }) => errors.push(error));
    workers.push(worker);
    await worker.start();
    // The ack of task 1 fails, then its give-back twice; the third try gives it back, it runs
    // again (at least once) and task 2, which waited for the one prefetch slot, runs too.
    await eventually(() => expect(ran).toContain(2), 15_000);
    expect(transport.failedSettles).toBe(3);
    expect(ran.filter((n) => n === 1).length).toBeGreaterThanOrEqual(1);
    expect(errors).toHaveLength(3);
  }, 20_000);
});
