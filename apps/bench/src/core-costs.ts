import { randomUUID } from 'node:crypto';
import { type Delivery, MemoryBroker, MemoryTransport, type WireMessage } from '@conveyor/core';
import { decodeTaskMessage, encodeTaskMessage } from '@conveyor/core/transport';

/** Nanoseconds per call of `fn`, over `iterations` calls. */
function nsPerOp(iterations: number, fn: (i: number) => void): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  return Number(process.hrtime.bigint() - started) / iterations;
}

/** Encoding one task message (headers, argsrepr, JSON body): what `client.send` pays per task. */
export function measureEncode(iterations: number): number {
  const id = randomUUID();
  let sink = 0;
  const ns = nsPerOp(iterations, (i) => {
    sink += encodeTaskMessage({ id, task: 'bench.noop', args: [i, 'x'] }).body.byteLength;
  });
  if (sink < 0) throw new Error('unreachable');
  return ns;
}

/** Decoding and validating one task message: what the worker pays before running a task. */
export function measureDecode(iterations: number): number {
  const wires: WireMessage[] = Array.from({ length: 1024 }, (_, i) =>
    encodeTaskMessage({ id: randomUUID(), task: 'bench.noop', args: [i, 'x'] }),
  );
  let sink = 0;
  const ns = nsPerOp(iterations, (i) => {
    sink += decodeTaskMessage(wires[i & 1023]!).args.length;
  });
  if (sink < 0) throw new Error('unreachable');
  return ns;
}

/**
 * MemoryTransport alone: publish (batched), hand out to a consumer with prefetch 50, ack.
 * The transport's share of a task (dispatch + ack), without encoding or the worker.
 */
export async function measureDispatchAndAck(messages: number): Promise<number> {
  const transport = new MemoryTransport({ broker: new MemoryBroker() });
  await transport.connect();
  const wire = encodeTaskMessage({ id: randomUUID(), task: 'bench.noop', args: [] });
  let acked = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  await transport.consume(
    'bench',
    (delivery: Delivery) => {
      void delivery.ack().then(() => {
        acked += 1;
        if (acked === messages) finish();
      });
    },
    { prefetch: 50 },
  );
  const entries = Array.from({ length: 500 }, () => ({ message: wire }));
  const started = process.hrtime.bigint();
  for (let sent = 0; sent < messages; sent += 500) {
    await transport.publishBatch('bench', entries.slice(0, Math.min(500, messages - sent)));
    await new Promise(setImmediate);
  }
  await finished;
  const ns = Number(process.hrtime.bigint() - started) / messages;
  await transport.close();
  return ns;
}
