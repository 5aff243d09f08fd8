/**
 * `conveyor worker --metrics [HOST]:PORT`: an HTTP server answering `GET /metrics` with the
 * worker's registry in Prometheus' text format. Only node:http: the CLI adds no dependency.
 */
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { type MetricRegistry, PROMETHEUS_CONTENT_TYPE } from '@conveyor/core';
import { usageHint } from './args.js';
import { CliError, UsageError } from './errors.js';

/** Where the metrics server listens. */
export interface MetricsAddress {
  host: string;
  /** 0 asks the system for a free port (the log line names the one it got). */
  port: number;
}

/** The host of `:PORT`: scrapes come from this machine unless a host says otherwise. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

/**
 * Parses `--metrics`: `:9464` and `9464` (127.0.0.1), `0.0.0.0:9464`, `localhost:9464`,
 * `[::1]:9464`. Anything else is a UsageError naming the option.
 */
export function parseMetricsAddress(command: string, raw: string): MetricsAddress {
  const value = raw.trim();
  const match = /^(?:(\[[^\]]+\]|[^:[\]\s]*):)?(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : Number.NaN;
  let host = match?.[1] ?? '';
  if (host.startsWith('[')) host = host.slice(1, -1);
  const hostOk = host === '' || isIP(host) !== 0 || /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(host);
  if (
    !match ||
    !(port >= 0 && port <= 65_535) ||
    !hostOk ||
    (match[1]?.startsWith('[') && isIP(host) !== 6)
  ) {
    throw new UsageError(
      `--metrics must be [HOST]:PORT with a port from 0 to 65535, e.g. :9464 or 0.0.0.0:9464; got "${raw}"`,
      usageHint(command),
    );
  }
  return { host: host === '' ? DEFAULT_METRICS_HOST : host, port };
}

/** A running metrics server. */
export interface MetricsServer {
  /** The scrape URL, with the port actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `registry` on `GET /metrics` (HEAD too); other paths are 404, other methods 405. A port
 * that cannot be bound is a CliError naming `--metrics`, raised before the worker starts.
 */
export async function serveMetrics(
  registry: MetricRegistry,
  address: MetricsAddress,
): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      response
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('not found: try /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    registry.render().then(
      (text) => {
        response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(`metrics failed: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
  });
  // A scraper's idle keep-alive connection must not hold the worker's exit.
  server.keepAliveTimeout = 5_000;
  await listen(server, address);
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
  const host = isIP(address.host) === 6 ? `[${address.host}]` : address.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, { host, port }: MetricsAddress): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const why = error.code === 'EADDRINUSE' ? 'the port is in use' : error.message;
      reject(
        new CliError('INVALID_OPTION', `--metrics: cannot listen on ${host}:${port}: ${why}`, {
          cause: error,
        }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
