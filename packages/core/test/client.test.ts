import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Client,
  ConveyorError,
  defineTask,
  MemoryTransport,
  type MemoryTransportOptions,
  type PublishOptions,
  type TaskMessage,
  UnsupportedFeatureError,
  type WireMessage,
} from '../src/index.js';
import { decodeTaskMessage } from '../src/transport-authors.js';
import { uniqueBroker } from './helpers.js';

const transports: MemoryTransport[] = [];

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

interface Published {
  queue: string;
  wire: WireMessage;
  message: TaskMessage;
  options: PublishOptions | undefined;
}

/** A client on a fresh broker, and every message it publishes, decoded. */
function clientWithSpy(options: MemoryTransportOptions = {}) {
  const transport = new MemoryTransport({ broker: uniqueBroker('client'), ...options });
  transports.push(transport);
  const published: Published[] = [];
  const record = (queue: string, wire: WireMessage, publishOptions: PublishOptions | undefined): void => {
    published.push({ queue, wire, message: decodeTaskMessage(wire), options: publishOptions });
  };
  const publish = transport.publish.bind(transport);
  vi.spyOn(transport, 'publish').mockImplementation(async (queue, wire, publishOptions) => {
    await publish(queue, wire, publishOptions);
    record(queue, wire, publishOptions);
  });
  const publishBatch = transport.publishBatch.bind(transport);
  const batch = vi.spyOn(transport, 'publishBatch').mockImplementation(async (queue, entries) => {
    await publishBatch(queue, entries);
    for (const entry of entries) record(queue, entry.message, entry.options);
  });
  return { transport, client: new Client({ transport }), published, batch };
}

const email = defineTask({ name: 'mail.send', handler: (_args: [string]) => undefined });
const report = defineTask({
  name: 'reports.build',
  queue: 'reports',
  priority: 4,
  handler: (_args: []) => 1,
});

describe('Client.send', () => {
  it("publishes a Celery message to the default queue 'celery'", async () => {
    const { client, published } = clientWithSpy();
    const handle = await client.send(email, ['a@example.com']);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      queue: 'celery',
      options: undefined,
      message: {
        id: handle.id,
        task: 'mail.send',
        args: ['a@example.com'],
        kwargs: {},
        retries: 0,
        eta: null,
      },
    });
    expect(handle.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("routes to the task's queue, unless the call names another", async () => {
    const { client, published } = clientWithSpy();
    await client.send(report, []);
    await client.send(report, [], { queue: 'urgent' });
    expect(published.map((p) => p.queue)).toEqual(['reports', 'urgent']);
  });

  it('routes to the defaultQueue given to the client', async () => {
    const transport = new MemoryTransport({ broker: uniqueBroker() });
    transports.push(transport);
    const client = new Client({ transport, defaultQueue: 'mine' });
    await client.send(email, ['x']);
    expect(await transport.queueDepth('mine')).toMatchObject({ ready: 1 });
  });

  it("uses the task's priority and lets the call override it", async () => {
    const { client, published } = clientWithSpy();
    await client.send(report, []);
    await client.send(report, [], { priority: 9 });
    expect(published.map((p) => p.options?.priority)).toEqual([4, 9]);
    expect(published.map((p) => p.wire.properties.priority)).toEqual([4, 9]);
  });

  it('turns a countdown into an eta header and a publish delay', async () => {
    const { client, published } = clientWithSpy();
    const before = Date.now();
    await client.send(email, ['x'], { countdownMs: 5_000 });
    const after = Date.now();
    const [{ message, options }] = published as [Published];
    expect(message.eta!.getTime()).toBeGreaterThanOrEqual(before + 5_000);
    expect(message.eta!.getTime()).toBeLessThanOrEqual(after + 5_000);
    expect(options?.delayMs).toBe(5_000);
    expect(published[0]!.wire.headers.eta).toMatch(/\.\d{6}\+00:00$/);
  });

  it('publishes an eta in the past without a delay', async () => {
    const { client, published } = clientWithSpy();
    const eta = new Date(Date.now() - 60_000);
    await client.send(email, ['x'], { eta });
    expect(published[0]!.message.eta?.getTime()).toBe(eta.getTime());
    expect(published[0]!.options).toBeUndefined();
  });

  it('caps the publish delay at the transport maximum and keeps the full eta in the header', async () => {
    const { client, published } = clientWithSpy({ restrictCapabilities: { delay: { maxDelayMs: 1_000 } } });
    const before = Date.now();
    await client.send(email, ['x'], { countdownMs: 60_000 });
    expect(published[0]!.options?.delayMs).toBe(1_000);
    expect(published[0]!.message.eta!.getTime()).toBeGreaterThanOrEqual(before + 60_000);
  });

  it('refuses a countdown on a transport without delays', async () => {
    const { client } = clientWithSpy({ restrictCapabilities: { delay: { mode: 'none' } } });
    await expect(client.send(email, ['x'], { countdownMs: 1_000 })).rejects.toBeInstanceOf(
      UnsupportedFeatureError,
    );
  });

  it('writes expires given as a Date or as ms from now', async () => {
    const { client, published } = clientWithSpy();
    const at = new Date(Date.UTC(2030, 0, 1));
    await client.send(email, ['x'], { expires: at });
    const before = Date.now();
    await client.send(email, ['x'], { expires: 120_000 });
    expect(published[0]!.message.expires?.getTime()).toBe(at.getTime());
    expect(published[1]!.message.expires!.getTime()).toBeGreaterThanOrEqual(before + 120_000);
  });

  it('writes time limits in seconds as [hard, soft]', async () => {
    const { client, published } = clientWithSpy();
    const limited = defineTask({ name: 't.limited', timeLimit: { softMs: 1_500 }, handler: () => 1 });
    await client.send(limited, []);
    await client.send(limited, [], { timeLimit: { hardMs: 10_000, softMs: 5_000 } });
    expect(published.map((p) => p.wire.headers.timelimit)).toEqual([
      [null, 1.5],
      [10, 5],
    ]);
  });

  it('passes kwargs, task id, ignoreResult and extra headers through', async () => {
    const { client, published } = clientWithSpy();
    const handle = await client.send(email, ['x'], {
      kwargs: { cc: 'b@example.com' },
      taskId: 'my-id',
      ignoreResult: true,
      headers: { 'x-tenant': 'acme' },
    });
    expect(handle.id).toBe('my-id');
    expect(published[0]!.message).toMatchObject({
      id: 'my-id',
      kwargs: { cc: 'b@example.com' },
      kwargsrepr: "{'cc': 'b@example.com'}",
      ignoreResult: true,
      extraHeaders: { 'x-tenant': 'acme' },
    });
  });

  it('passes deduplication ids and ordering keys to the transport', async () => {
    const { client, published } = clientWithSpy();
    await client.send(email, ['x'], { deduplicationId: 'd-1', orderingKey: 'k-1' });
    expect(published[0]!.options).toEqual({ deduplicationId: 'd-1', orderingKey: 'k-1' });
  });

  it('sends by task name without a task object', async () => {
    const { client, published } = clientWithSpy();
    await client.send('python.side.task', [1, 'two']);
    expect(published[0]!.message).toMatchObject({ task: 'python.side.task', args: [1, 'two'] });
  });

  it('connects and declares each queue once', async () => {
    const { transport, client } = clientWithSpy();
    const connect = vi.spyOn(transport, 'connect');
    const declare = vi.spyOn(transport, 'declareQueue');
    await Promise.all([client.send(email, ['1']), client.send(email, ['2'])]);
    await client.send(report, []);
    expect(connect).toHaveBeenCalledTimes(1);
    expect(declare.mock.calls.map(([spec]) => spec.name)).toEqual(['celery', 'reports']);
  });

  it('refuses an invalid priority from the transport, publishing nothing', async () => {
    const { client, transport } = clientWithSpy();
    await expect(client.send(email, ['x'], { priority: 99 })).rejects.toMatchObject({ option: 'priority' });
    expect(await transport.queueDepth('celery')).toMatchObject({ ready: 0 });
  });
});

describe('Client.sendMany', () => {
  it('publishes one message per args array, in one batch, with distinct ids', async () => {
    const { client, published, batch } = clientWithSpy();
    const handles = await client.sendMany(email, [['a'], ['b'], ['c']]);
    expect(batch).toHaveBeenCalledTimes(1);
    expect(published.map((p) => p.message.args)).toEqual([['a'], ['b'], ['c']]);
    expect(published.map((p) => p.message.id)).toEqual(handles.map((h) => h.id));
    expect(new Set(handles.map((h) => h.id)).size).toBe(3);
  });

  it('publishes one by one on a transport without batch publishing', async () => {
    const { client, published, batch } = clientWithSpy({ restrictCapabilities: { batchPublish: false } });
    await client.sendMany(email, [['a'], ['b']]);
    expect(batch).not.toHaveBeenCalled();
    expect(published.map((p) => p.message.args)).toEqual([['a'], ['b']]);
  });

  it('returns no handles for no args', async () => {
    const { client } = clientWithSpy();
    expect(await client.sendMany(email, [])).toEqual([]);
  });
});

describe('Client results', () => {
  it('gives handles that refuse to read without a result backend', async () => {
    const { client } = clientWithSpy();
    const handle = await client.send(email, ['x']);
    await expect(handle.get({ timeout: 10 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(handle.state()).rejects.toBeInstanceOf(ConveyorError);
  });
});
