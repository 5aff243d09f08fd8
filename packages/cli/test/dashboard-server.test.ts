import { Client, MemoryBroker, MemoryTransport } from '@conveyor/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type DashboardServer, startDashboardServer } from '../src/dashboard/dashboard-server.js';
import { type DashboardSnapshot, DashboardState } from '../src/dashboard/dashboard-state.js';
import { runBin } from './helpers.js';

/**
 * The dashboard's HTTP API in-process on memory:// (the embedded broker): the JSON state, the
 * token, the read-only refusal, the purge confirmation, and the events the page draws.
 */
const QUEUE = 'emails';
const TOKEN = 'dashboard-test-token';
const servers: DashboardServer[] = [];
const transports: MemoryTransport[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const transport of transports.splice(0)) await transport.close();
});

/** A memory transport with `ok` tasks ready and `letters` dead letters (rejected by a consumer). */
async function brokerWith(ready: number, letters: number): Promise<MemoryTransport> {
  // A broker of its own: the process-wide default one is shared with every other test.
  const transport = new MemoryTransport({ broker: new MemoryBroker() });
  transports.push(transport);
  await transport.connect();
  await transport.declareQueue({ name: QUEUE });
  const client = new Client({ transport, defaultQueue: QUEUE });
  for (let i = 0; i < letters; i += 1) await client.send('emails.send', [i]);
  if (letters > 0) {
    const abort = new AbortController();
    let rejected = 0;
    await new Promise<void>((resolve, reject) => {
      transport
        .consume(
          QUEUE,
          async (delivery) => {
            await delivery.reject('SMTPError: mailbox full');
            rejected += 1;
            if (rejected === letters) resolve();
          },
          { prefetch: letters, signal: abort.signal },
        )
        .catch(reject);
    });
    abort.abort();
  }
  for (let i = 0; i < ready; i += 1) await client.send('emails.send', [i]);
  return transport;
}

async function serve(
  transport: MemoryTransport,
  options: { writable?: boolean; token?: string } = {},
): Promise<{ server: DashboardServer; state: DashboardState }> {
  const state = new DashboardState({
    transport,
    broker: 'memory://',
    queues: [QUEUE],
    writable: options.writable ?? false,
  });
  await state.start();
  const server = await startDashboardServer({
    transport,
    state,
    address: { host: '127.0.0.1', port: 0 },
    pollMs: 60_000,
    ...(options.token !== undefined ? { token: options.token } : {}),
  });
  servers.push(server);
  return { server, state };
}

function post(server: DashboardServer, path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(new URL(path, server.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

describe('dashboard API', () => {
  it('serves the page and the state as JSON, with "-" (null) where the broker cannot tell', async () => {
    const { server } = await serve(await brokerWith(3, 2));
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<script src="dashboard.js"');
    expect((await fetch(new URL('dashboard.js', server.url))).status).toBe(200);

    const state = (await (await fetch(new URL('api/state', server.url))).json()) as DashboardSnapshot;
    expect(state).toMatchObject({ transport: 'memory', broker: 'memory://', writable: false, events: false });
    expect(state.rates).toBeNull();
    expect(state.queues).toEqual([
      expect.objectContaining({ name: QUEUE, deadLetterQueue: `${QUEUE}.dlq`, ready: 3, deadLettered: 2 }),
    ]);

    const listing = (await (await fetch(new URL(`api/dead-letters?queue=${QUEUE}`, server.url))).json()) as {
      letters: { task: string; reason: string }[];
    };
    expect(listing.letters).toHaveLength(2);
    expect(listing.letters[0]).toMatchObject({ task: 'emails.send' });
    expect(listing.letters[0]?.reason).toContain('mailbox full');
    // Listing gives the letters back.
    expect((await transports[0]!.queueDepth(`${QUEUE}.dlq`)).ready).toBe(2);

    const unknown = await fetch(new URL('api/dead-letters?queue=other', server.url));
    expect(unknown.status).toBe(404);
  });

  it('pushes the state over Server-Sent Events', async () => {
    const { server } = await serve(await brokerWith(1, 0));
    const abort = new AbortController();
    const response = await fetch(new URL('api/stream', server.url), { signal: abort.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    abort.abort();
    const text = Buffer.from(value!).toString('utf8');
    expect(text).toMatch(/^retry: \d+\nevent: state\ndata: \{/);
    const data = JSON.parse(/data: (.*)\n/.exec(text)![1]!) as DashboardSnapshot;
    expect(data.queues[0]?.ready).toBe(1);
  });

  it('refuses redrive and purge unless writable, naming the flag', async () => {
    const transport = await brokerWith(0, 2);
    const { server } = await serve(transport);
    for (const path of ['api/dead-letters/redrive', 'api/dead-letters/purge']) {
      const response = await post(server, path, { queue: QUEUE, confirm: `${QUEUE}.dlq` });
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: string }).error).toContain('--allow-redrive-purge');
    }
    expect((await transport.queueDepth(`${QUEUE}.dlq`)).ready).toBe(2);
  });

  it('when writable: redrives, and purges only with the queue named as confirmation', async () => {
    const transport = await brokerWith(0, 3);
    const { server } = await serve(transport, { writable: true });

    // A cross-site form cannot send JSON, and a script on another origin is refused.
    const form = await fetch(new URL('api/dead-letters/redrive', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `queue=${QUEUE}`,
    });
    expect(form.status).toBe(415);
    const crossOrigin = await post(
      server,
      'api/dead-letters/redrive',
      { queue: QUEUE },
      { origin: 'http://evil.test' },
    );
    expect(crossOrigin.status).toBe(403);
    expect((await transport.queueDepth(`${QUEUE}.dlq`)).ready).toBe(3);

    const unconfirmed = await post(server, 'api/dead-letters/purge', { queue: QUEUE });
    expect(unconfirmed.status).toBe(400);
    expect(((await unconfirmed.json()) as { error: string }).error).toContain(`"confirm": "${QUEUE}.dlq"`);
    const wrong = await post(server, 'api/dead-letters/purge', { queue: QUEUE, confirm: QUEUE });
    expect(wrong.status).toBe(400);
    expect((await transport.queueDepth(`${QUEUE}.dlq`)).ready).toBe(3);

    // The same host through a proxy that terminates TLS is the page's own origin.
    const sameHost = new URL(server.url).origin.replace('http:', 'https:');
    const redrive = await post(server, 'api/dead-letters/redrive', { queue: QUEUE }, { origin: sameHost });
    expect(redrive.status).toBe(200);
    expect(await redrive.json()).toMatchObject({ moved: 3, failed: 0 });
    expect((await transport.queueDepth(QUEUE)).ready).toBe(3);
    expect((await transport.queueDepth(`${QUEUE}.dlq`)).ready).toBe(0);
    const state = (await (await fetch(new URL('api/state', server.url))).json()) as DashboardSnapshot;
    expect(state.queues[0]).toMatchObject({ ready: 3, deadLettered: 0 });

    const transport2 = await brokerWith(0, 2);
    const { server: server2 } = await serve(transport2, { writable: true });
    const purge = await post(server2, 'api/dead-letters/purge', { queue: QUEUE, confirm: `${QUEUE}.dlq` });
    expect(await purge.json()).toMatchObject({ purged: 2, failed: 0 });
    expect((await transport2.queueDepth(`${QUEUE}.dlq`)).ready).toBe(0);
  });

  it('with a token, refuses every request without it and accepts the header or ?token=', async () => {
    const { server } = await serve(await brokerWith(0, 0), { token: TOKEN, writable: true });
    for (const path of ['', 'dashboard.js', 'api/state', 'api/stream']) {
      expect((await fetch(new URL(path, server.url))).status, path).toBe(401);
    }
    expect((await fetch(new URL('api/state?token=wrong', server.url))).status).toBe(401);
    expect(
      (await post(server, 'api/dead-letters/purge', { queue: QUEUE, confirm: `${QUEUE}.dlq` })).status,
    ).toBe(401);
    expect((await fetch(new URL(`?token=${TOKEN}`, server.url))).status).toBe(200);
    const withHeader = await fetch(new URL('api/state', server.url), {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(withHeader.status).toBe(200);
  });
});

describe('dashboard state from Celery events', () => {
  it('lists workers from heartbeats, failures with their task names and exceptions, and queues from task-sent', async () => {
    const transport = await brokerWith(0, 0);
    const state = new DashboardState({ transport, broker: 'memory://', queues: [QUEUE], writable: false });
    const now = Date.now();
    state.recordEvent(
      {
        type: 'worker-heartbeat',
        hostname: 'w1@host',
        freq: 2,
        active: 1,
        processed: 7,
        sw_ident: 'conveyor',
        sw_ver: '0.1.0',
      },
      now,
    );
    state.recordEvent({ type: 'task-received', uuid: 'a', name: 'emails.send', hostname: 'w1@host' }, now);
    state.recordEvent(
      {
        type: 'task-failed',
        uuid: 'a',
        exception: "SMTPError('mailbox full')",
        traceback: 'Traceback…',
        hostname: 'w1@host',
        timestamp: now / 1000,
      },
      now,
    );
    state.recordEvent({ type: 'task-succeeded', uuid: 'b', hostname: 'w1@host' }, now);
    state.recordEvent({ type: 'task-sent', uuid: 'c', name: 'reports.build', queue: 'reports' }, now);
    state.recordEvent({ type: 'worker-offline', hostname: 'w2@host' }, now);

    const snapshot = state.snapshot(now + 1000);
    expect(snapshot.workers).toEqual([
      {
        hostname: 'w1@host',
        lastSeen: now,
        online: true,
        active: 1,
        processed: 7,
        software: 'conveyor 0.1.0',
      },
      expect.objectContaining({ hostname: 'w2@host', online: false }),
    ]);
    expect(snapshot.failures).toEqual([
      expect.objectContaining({
        taskId: 'a',
        task: 'emails.send',
        exception: "SMTPError('mailbox full')",
        traceback: 'Traceback…',
        retried: false,
      }),
    ]);
    expect(state.queues).toEqual([QUEUE, 'reports']);
    // Three missed heartbeats: offline.
    expect(state.snapshot(now + 7000).workers[0]?.online).toBe(false);
  });
});

describe('conveyor dashboard options', () => {
  it('refuses --allow-redrive-purge on a public address without a token, and a bad --listen', async () => {
    const open = await runBin([
      'dashboard',
      '--broker',
      'memory://',
      '--listen',
      '0.0.0.0:0',
      '--allow-redrive-purge',
    ]);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('--allow-redrive-purge on 0.0.0.0 needs --token');
    const bad = await runBin(['dashboard', '--broker', 'memory://', '--listen', 'nowhere:port']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--listen must be [HOST]:PORT');
  });
});
