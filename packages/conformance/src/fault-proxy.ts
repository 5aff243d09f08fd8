import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { Endpoint } from './harness.js';

/** Counters of a fault proxy. */
export interface FaultProxyStats {
  /** Client connections accepted since start. */
  accepted: number;
  /** Client connections open now. */
  open: number;
  /** Connections destroyed by `cutAll`. */
  cut: number;
}

/**
 * An in-process TCP proxy that breaks connections on purpose, because these machines have no
 * Docker to restart brokers with. Point a transport at `endpoint` instead of the broker.
 */
export interface FaultProxy {
  /** Where clients connect (127.0.0.1 and an ephemeral port). */
  readonly endpoint: Endpoint;
  /** Destroys every open connection at once, both sides, as a crashed broker or network would. */
  cutAll(): void;
  /** While on, bytes are swallowed in both directions but sockets stay open (a network partition). */
  blackhole(on: boolean): void;
  /** Delays every chunk by this many ms in both directions (0 to stop). */
  latency(ms: number): void;
  /** While on, new connections are closed as soon as they arrive (a broker that is down). */
  refuseNew(on: boolean): void;
  stats(): FaultProxyStats;
  close(): Promise<void>;
}

/** Starts a fault proxy forwarding to `upstream`. */
export async function createFaultProxy(options: { upstream: Endpoint }): Promise<FaultProxy> {
  const { upstream } = options;
  const pairs = new Set<{ client: Socket; server: Socket }>();
  let blackholed = false;
  let latencyMs = 0;
  let refusing = false;
  const stats: FaultProxyStats = { accepted: 0, open: 0, cut: 0 };

  const pipe = (from: Socket, to: Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (blackholed) return;
      if (latencyMs > 0) {
        // Pause so that chunks keep their order while delayed.
        from.pause();
        setTimeout(() => {
          if (!to.destroyed) to.write(chunk);
          from.resume();
        }, latencyMs);
      } else if (!to.destroyed) {
        to.write(chunk);
      }
    });
  };

  const server: Server = createServer((client) => {
    stats.accepted += 1;
    if (refusing) {
      client.destroy();
      return;
    }
    const upstreamSocket = tcpConnect(upstream.port, upstream.host);
    const pair = { client, server: upstreamSocket };
    pairs.add(pair);
    stats.open += 1;
    client.setNoDelay(true);
    upstreamSocket.setNoDelay(true);
    pipe(client, upstreamSocket);
    pipe(upstreamSocket, client);
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      pairs.delete(pair);
      stats.open -= 1;
      client.destroy();
      upstreamSocket.destroy();
    };
    client.on('close', close);
    upstreamSocket.on('close', close);
    client.on('error', close);
    upstreamSocket.on('error', close);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fault proxy did not get a TCP port');

  return {
    endpoint: { host: '127.0.0.1', port: address.port },
    cutAll() {
      for (const pair of [...pairs]) {
        stats.cut += 1;
        // resetAndDestroy sends RST, like a crashed peer, where Node supports it.
        const client = pair.client as Socket & { resetAndDestroy?: () => void };
        if (client.resetAndDestroy) client.resetAndDestroy();
        else client.destroy();
        pair.server.destroy();
      }
    },
    blackhole(on) {
      blackholed = on;
    },
    latency(ms) {
      latencyMs = Math.max(0, ms);
    },
    refuseNew(on) {
      refusing = on;
    },
    stats: () => ({ ...stats }),
    async close() {
      for (const pair of [...pairs]) {
        pair.client.destroy();
        pair.server.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
