import {
  Client,
  defineTask,
  MemoryBroker,
  MemoryResultBackend,
  MemoryTransport,
  Worker,
} from '@conveyor/core';

/** What one end-to-end run measures. */
export interface ThroughputOptions {
  tasks: number;
  concurrency: number;
  /** Store every result in a MemoryResultBackend (as a task that returns something would). */
  withResults: boolean;
}

const BATCH = 500;

/**
 * End to end on memory://: a producer sends no-op tasks in batches of 500 while a worker runs
 * them; tasks/s from the first send to the last completion. The producer yields to the event loop
 * between batches, as a real web process would, so queue and worker run interleaved.
 */
export async function measureMemoryThroughput(options: ThroughputOptions): Promise<number> {
  const transport = new MemoryTransport({ broker: new MemoryBroker() });
  const results = options.withResults ? new MemoryResultBackend() : undefined;
  const noop = defineTask({
    name: 'bench.noop',
    handler: ([i]: [number]) => i,
    ignoreResult: !options.withResults,
  });
  const client = new Client({ transport, ...(results ? { results } : {}) });
  const worker = new Worker({
    transport,
    tasks: [noop],
    concurrency: options.concurrency,
    ...(results ? { results } : {}),
  });
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  worker.on('succeeded', () => {
    done += 1;
    if (done === options.tasks) finish();
  });
  await worker.start();
  const batch: [number][] = Array.from({ length: BATCH }, (_, i) => [i]);
  const started = performance.now();
  for (let sent = 0; sent < options.tasks; sent += BATCH) {
    await client.sendMany(noop, sent + BATCH <= options.tasks ? batch : batch.slice(0, options.tasks - sent));
    await new Promise(setImmediate);
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await worker.stop();
  await transport.close();
  return options.tasks / seconds;
}

/**
 * The anchor for an in-process queue: an array and a loop that awaits one async no-op per item
 * with the same concurrency. No encoding, no acks: the ceiling of in-process dispatch.
 */
export async function measureRawLoop(tasks: number, concurrency: number): Promise<number> {
  const queue: number[] = [];
  let head = 0;
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let running = 0;
  const handler = async (i: number): Promise<number> => i;
  const pump = (): void => {
    while (running < concurrency && head < queue.length) {
      const item = queue[head++]!;
      running += 1;
      void handler(item).then(() => {
        running -= 1;
        done += 1;
        if (done === tasks) finish();
        else pump();
      });
    }
  };
  const started = performance.now();
  for (let sent = 0; sent < tasks; sent += BATCH) {
    for (let i = 0; i < BATCH && sent + i < tasks; i++) queue.push(sent + i);
    pump();
    await new Promise(setImmediate);
  }
  await finished;
  return tasks / ((performance.now() - started) / 1000);
}
