import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CELERY_EVENT_EXCHANGE,
  CeleryEventDispatcher,
  Client,
  celeryUtcOffset,
  defineTask,
  encodeCeleryEvent,
  eventRoutingKey,
  InvalidOptionError,
  MemoryTransport,
  PermanentTaskError,
  sendTaskSentEvents,
  UnsupportedFeatureError,
  Worker,
} from '../src/index.js';
import {
  type Broadcast,
  type BroadcastExchange,
  defineCapabilities,
  type TransportCapabilities,
  type WireMessage,
} from '../src/transport-authors.js';

/** A broadcast that keeps what is published: the format is checked here, brokers in their packages. */
class RecordingBroadcast implements Broadcast {
  readonly published: { exchange: BroadcastExchange; routingKey: string; message: WireMessage }[] = [];
  failWith: Error | undefined;
  async publish(exchange: BroadcastExchange, routingKey: string, message: WireMessage): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.published.push({ exchange, routingKey, message });
  }
  async subscribe(): Promise<void> {}
  events(): Record<string, unknown>[] {
    return this.published.map((p) => JSON.parse(Buffer.from(p.message.body).toString('utf8')));
  }
}

/** MemoryTransport with a broadcast, as a broker package would offer it. */
class BroadcastingMemoryTransport extends MemoryTransport {
  override readonly capabilities: TransportCapabilities;
  readonly broadcast = new RecordingBroadcast();
  constructor() {
    super();
    this.capabilities = defineCapabilities({ ...new MemoryTransport().capabilities, broadcast: true });
  }
}

describe('Celery event encoding', () => {
  it('routes by the type with dots and sends JSON with the hostname header, transient', () => {
    expect(eventRoutingKey('task-received')).toBe('task.received');
    expect(eventRoutingKey('worker-heartbeat')).toBe('worker.heartbeat');
    expect(CELERY_EVENT_EXCHANGE).toEqual({ name: 'celeryev', kind: 'topic', durable: true });
    const wire = encodeCeleryEvent({ type: 'task-started', uuid: 'u' }, 'w@h');
    expect(wire.headers).toEqual({ hostname: 'w@h' });
    expect(wire.properties).toEqual({
      content_type: 'application/json',
      content_encoding: 'utf-8',
      delivery_mode: 1,
    });
    expect(JSON.parse(Buffer.from(wire.body).toString('utf8'))).toEqual({ type: 'task-started', uuid: 'u' });
  });

  it('reports utcoffset in hours west of UTC, like Python time.timezone // 3600', () => {
    const date = new Date();
    expect(celeryUtcOffset(date)).toBe(Math.floor(date.getTimezoneOffset() / 60));
  });

  it('stamps hostname, utcoffset, pid, a rising Lamport clock and a timestamp in seconds', async () => {
    const broadcast = new RecordingBroadcast();
    const dispatcher = new CeleryEventDispatcher({ broadcast, hostname: 'w@h' });
    const before = Date.now() / 1000;
    await dispatcher.send('task-started', { uuid: 'a' });
    await dispatcher.send('task-succeeded', { uuid: 'a', result: '5', runtime: 0.1 });
    const [started, succeeded] = broadcast.events();
    expect(started).toEqual({
      hostname: 'w@h',
      utcoffset: celeryUtcOffset(),
      pid: process.pid,
      clock: 1,
      timestamp: expect.any(Number),
      type: 'task-started',
      uuid: 'a',
    });
    expect(succeeded!.clock).toBe(2);
    expect(started!.timestamp as number).toBeGreaterThanOrEqual(before - 1);
    expect(started!.timestamp as number).toBeLessThan(before + 3600);
    expect(broadcast.published.map((p) => [p.exchange.name, p.routingKey])).toEqual([
      ['celeryev', 'task.started'],
      ['celeryev', 'task.succeeded'],
    ]);
  });

  it('loses an event it cannot publish, never the caller: the error goes to onError', async () => {
    const broadcast = new RecordingBroadcast();
    broadcast.failWith = new Error('broker down');
    const errors: unknown[] = [];
    const dispatcher = new CeleryEventDispatcher({
      broadcast,
      hostname: 'w@h',
      onError: (e) => errors.push(e),
    });
    await expect(dispatcher.send('task-started', { uuid: 'a' })).resolves.toBeUndefined();
    expect(errors).toEqual([broadcast.failWith]);
  });
});

describe('Worker({ events })', () => {
  const add = defineTask({ name: 'ev.add', handler: ([a, b]: [number, number]) => a + b });

  it('is off by default and refused on a transport that cannot broadcast', () => {
    const transport = new MemoryTransport();
    expect(transport.capabilities.broadcast).toBe(false);
    expect(() => new Worker({ transport, tasks: [add], events: true })).toThrow(UnsupportedFeatureError);
    expect(() => sendTaskSentEvents(new Client({ transport }))).toThrow(UnsupportedFeatureError);
    expect(() => new Client({ transport, sendEvents: true })).toThrow(UnsupportedFeatureError);
    const broadcasting = new BroadcastingMemoryTransport();
    expect(
      () => new Worker({ transport: broadcasting, tasks: [add], events: { heartbeatSeconds: 0 } }),
    ).toThrow(InvalidOptionError);
  });

  // Tasks already waiting are delivered as soon as the worker consumes: the events must be
  // listening by then, and worker-online must come first, as in Celery.
  it('sends the events of tasks that were waiting before the worker started, after worker-online', async () => {
    const transport = new BroadcastingMemoryTransport();
    const client = new Client({ transport });
    const waiting = [await client.send(add, [1, 2]), await client.send(add, [3, 4])];
    const worker = new Worker({ transport, tasks: [add], hostname: 'conveyor@early', events: true });
    await worker.start();
    try {
      await vitestWaitFor(() =>
        waiting.every((h) =>
          transport.broadcast.events().some((e) => e.uuid === h.id && e.type === 'task-succeeded'),
        ),
      );
    } finally {
      await worker.stop();
      await transport.close();
    }
    const types = transport.broadcast.events().map((e) => e.type);
    expect(types[0]).toBe('worker-online');
    for (const handle of waiting) {
      expect(
        transport.broadcast
          .events()
          .filter((e) => e.uuid === handle.id)
          .map((e) => e.type),
      ).toEqual(['task-received', 'task-started', 'task-succeeded']);
    }
  });

  it("sends Celery's worker and task events with Celery's fields", async () => {
    const transport = new BroadcastingMemoryTransport();
    const boom = defineTask({
      name: 'ev.boom',
      handler: (): never => {
        throw new PermanentTaskError('no');
      },
    });
    const worker = new Worker({ transport, tasks: [add, boom], hostname: 'conveyor@unit', events: true });
    const client = new Client({ transport });
    const stop = sendTaskSentEvents(client, { hostname: 'client@unit' });
    // The option does the same with Celery's anonymous client name.
    const optionClient = new Client({ transport, sendEvents: true });
    await worker.start();
    const ok = await client.send(add, [2, 3]);
    const bad = await client.send(boom, []);
    const byOption = await optionClient.send(add, [1, 1]);
    await vitestWaitFor(() =>
      // All three settled before stop(): one still waiting would be given back unrun (processed 2).
      [ok.id, bad.id, byOption.id].every((id) =>
        transport.broadcast
          .events()
          .some((e) => e.uuid === id && (e.type === 'task-rejected' || e.type === 'task-succeeded')),
      ),
    );
    await worker.stop();
    stop();
    await transport.close();
    const events = transport.broadcast.events();
    // task-sent follows the client's publish, so it may come after the worker's first events.
    const of = (id: string) =>
      events.filter((e) => e.uuid === id && e.type !== 'task-sent').map((e) => e.type);
    expect(of(ok.id)).toEqual(['task-received', 'task-started', 'task-succeeded']);
    expect(of(bad.id)).toEqual(['task-received', 'task-started', 'task-failed', 'task-rejected']);
    expect(events.filter((e) => e.type === 'task-sent').map((e) => e.uuid)).toEqual([
      ok.id,
      bad.id,
      byOption.id,
    ]);
    expect(events.find((e) => e.type === 'task-sent' && e.uuid === byOption.id)!.hostname).toMatch(
      /^gen\d+@/,
    );
    const byType = (type: string, id?: string) =>
      events.find((e) => e.type === type && (!id || e.uuid === id))!;
    expect(byType('task-sent', ok.id)).toMatchObject({
      hostname: 'client@unit',
      name: 'ev.add',
      args: '(2, 3)',
      kwargs: '{}',
      root_id: ok.id,
      parent_id: null,
      eta: null,
      expires: null,
      queue: 'celery',
      exchange: '',
      routing_key: 'celery',
      retries: 0,
    });
    expect(byType('task-received', ok.id)).toMatchObject({
      hostname: 'conveyor@unit',
      name: 'ev.add',
      args: '(2, 3)',
      kwargs: '{}',
      root_id: ok.id,
      parent_id: null,
      retries: 0,
      eta: null,
      expires: null,
    });
    expect(byType('task-succeeded', ok.id)).toMatchObject({ result: '5', runtime: expect.any(Number) });
    expect(byType('task-failed', bad.id)).toMatchObject({
      exception: "PermanentTaskError('no')",
      traceback: expect.stringContaining('PermanentTaskError'),
    });
    expect(byType('task-rejected', bad.id)).toMatchObject({ requeue: false });
    const types = events.filter((e) => String(e.type).startsWith('worker-')).map((e) => e.type);
    expect(types[0]).toBe('worker-online');
    expect(types.at(-1)).toBe('worker-offline');
    expect(byType('worker-offline')).toMatchObject({
      freq: 2,
      active: 0,
      processed: 3,
      loadavg: expect.any(Array),
      sw_ident: 'conveyor',
      // The package's own version, not a copy that a release would leave behind.
      sw_ver: (
        JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
      ).version,
      sw_sys: expect.any(String),
    });
  });
});

async function vitestWaitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
