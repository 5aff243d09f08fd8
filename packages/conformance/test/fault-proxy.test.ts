import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFaultProxy, type FaultProxy } from '../src/index.js';

/** An echo server: what the proxy forwards comes straight back. */
let echo: Server;
let echoPort: number;
let proxy: FaultProxy;

beforeEach(async () => {
  echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as { port: number }).port;
  proxy = await createFaultProxy({ upstream: { host: '127.0.0.1', port: echoPort } });
});

afterEach(async () => {
  await proxy.close();
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(proxy.endpoint.port, proxy.endpoint.host, () => resolve(socket));
    socket.once('error', reject);
  });
}

function roundTrip(socket: Socket, text: string, timeoutMs = 2000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('data', onData);
      resolve(undefined);
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(chunk.toString());
    };
    socket.on('data', onData);
    socket.write(text);
  });
}

describe('fault proxy', () => {
  it('forwards both ways', async () => {
    const socket = await open();
    expect(await roundTrip(socket, 'hello')).toBe('hello');
    expect(proxy.stats()).toMatchObject({ accepted: 1, open: 1 });
    socket.destroy();
  });

  it('cutAll closes every open connection', async () => {
    const sockets = await Promise.all([open(), open()]);
    await Promise.all(sockets.map((s) => roundTrip(s, 'x')));
    const closed = sockets.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
    for (const s of sockets) s.on('error', () => {});
    proxy.cutAll();
    await Promise.all(closed);
    expect(proxy.stats().cut).toBe(2);
    const again = await open();
    expect(await roundTrip(again, 'back')).toBe('back');
    again.destroy();
  });

  it('blackhole swallows bytes but keeps the socket open, until lifted', async () => {
    const socket = await open();
    proxy.blackhole(true);
    expect(await roundTrip(socket, 'lost', 300)).toBeUndefined();
    expect(socket.destroyed).toBe(false);
    proxy.blackhole(false);
    expect(await roundTrip(socket, 'found')).toBe('found');
    socket.destroy();
  });

  it('latency delays delivery by at least the configured time', async () => {
    const socket = await open();
    proxy.latency(150);
    const started = performance.now();
    expect(await roundTrip(socket, 'slow')).toBe('slow');
    // Both directions are delayed, so a round trip takes at least twice the latency.
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    socket.destroy();
  });

  it('refuseNew closes new connections at once', async () => {
    proxy.refuseNew(true);
    const socket = await open();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    proxy.refuseNew(false);
    const ok = await open();
    expect(await roundTrip(ok, 'ok')).toBe('ok');
    ok.destroy();
  });
});
