/**
 * The dashboard's HTTP server (node:http only: the CLI adds no runtime dependency). It serves one
 * static page, a JSON API and a Server-Sent Events stream that pushes the whole state after every
 * poll, so the page updates without reloading.
 *
 * Safety: read-only unless `writable` (redrive and purge answer 403 otherwise); with a token every
 * request must carry it (`Authorization: Bearer` or `?token=`, since EventSource cannot set
 * headers); a write must be a JSON POST from the page's own origin, which a cross-site form cannot
 * forge; purge must name the dead-letter queue it empties, which the page asks the user to confirm.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import {
  type DeadLetter,
  listDeadLetters,
  purgeDeadLetters,
  type ResultBackend,
  redriveDeadLetters,
  type Transport,
} from '@conveyor/core';
import { CliError } from '../errors.js';
import type { DashboardState } from './dashboard-state.js';

/** Where the dashboard listens. */
export interface DashboardAddress {
  host: string;
  /** 0 asks the system for a free port. */
  port: number;
}

/** How the dashboard runs. */
export interface DashboardServerOptions {
  transport: Transport;
  state: DashboardState;
  address: DashboardAddress;
  /** When set, every request must carry it. */
  token?: string;
  /**
   * `--results`: each dead letter is shown with its task's stored state, exception and traceback
   * (what a worker stored when it failed), also on brokers without events.
   */
  results?: ResultBackend;
  /** How often the queues are polled and the page updated (ms). */
  pollMs: number;
  /** Told about failed polls (the page shows them too). */
  onError?: (error: unknown) => void;
}

/** A running dashboard. */
export interface DashboardServer {
  /** The page's URL, with the port actually bound (without the token). */
  readonly url: string;
  close(): Promise<void>;
}

/** The option that allows redrive and purge, named in every refusal. */
export const ALLOW_WRITES_OPTION = '--allow-redrive-purge';

const STATIC_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
};
/** The page's files live in src (published with the package): the build compiles only TypeScript. */
const STATIC_DIR = new URL('../../src/dashboard/static/', import.meta.url);
const LETTERS_SHOWN = 100;
const MAX_BODY_BYTES = 16 * 1024;

/** An answer with a status other than 200, thrown inside a handler. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Starts polling and serving; a port that cannot be bound is a CliError naming `--listen`. */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const { state, transport } = options;
  const streams = new Set<ServerResponse>();
  // Dead-letter passes consume the DLQ and give letters back: two at once would hide letters
  // from each other, so they run one after another.
  let deadLetterQueue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(run: () => Promise<T>): Promise<T> => {
    const next = deadLetterQueue.then(run, run);
    deadLetterQueue = next.catch(() => {});
    return next;
  };

  const push = (): void => {
    const data = `event: state\ndata: ${JSON.stringify(state.snapshot())}\n\n`;
    for (const stream of streams) stream.write(data);
  };
  /** Polls now, after a change the page should see before the next tick. */
  const refresh = async (): Promise<void> => {
    await state.poll().catch((error: unknown) => options.onError?.(error));
    push();
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async (): Promise<void> => {
    try {
      await state.poll();
    } catch (error) {
      options.onError?.(error);
    }
    if (stopped) return;
    push();
    timer = setTimeout(() => void tick(), options.pollMs);
  };
  await state.poll();

  const queueOf = (name: unknown): string => {
    if (typeof name !== 'string' || !state.queues.includes(name)) {
      throw new HttpError(
        404,
        `unknown queue ${JSON.stringify(name)}: the dashboard shows ${state.queues.join(', ')}`,
      );
    }
    return name;
  };
  const requireWritable = (request: IncomingMessage): void => {
    if (!state.snapshot().writable) {
      throw new HttpError(
        403,
        `read-only dashboard: start it with ${ALLOW_WRITES_OPTION} to redrive or purge`,
      );
    }
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      throw new HttpError(415, 'send JSON (content-type: application/json)');
    }
    const origin = request.headers.origin;
    // The host only: behind a TLS-terminating proxy the page's origin is https.
    if (origin !== undefined && hostOf(origin) !== request.headers.host) {
      throw new HttpError(403, `cross-origin request from ${origin} refused`);
    }
  };

  const api = async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<unknown> => {
    const route = `${request.method} ${url.pathname}`;
    switch (route) {
      case 'GET /api/state':
        return state.snapshot();
      case 'GET /api/stream': {
        response.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        });
        response.write(`retry: 2000\nevent: state\ndata: ${JSON.stringify(state.snapshot())}\n\n`);
        streams.add(response);
        request.on('close', () => streams.delete(response));
        return undefined;
      }
      case 'GET /api/dead-letters': {
        const queue = queueOf(url.searchParams.get('queue'));
        return exclusive(async () => {
          const listing = await listDeadLetters(transport, {
            queue,
            deadLetterQueue: state.deadLetterQueueOf(queue),
            limit: LETTERS_SHOWN,
            idleMs: 500,
          });
          const letters = await Promise.all(
            listing.letters.map(async (letter) => ({
              ...letterSummary(letter),
              result: await storedResult(options.results, letter.taskId),
            })),
          );
          return { ...listing, letters };
        });
      }
      case 'POST /api/dead-letters/redrive': {
        requireWritable(request);
        const body = await readJson(request);
        const queue = queueOf(body.queue);
        const report = await exclusive(() =>
          redriveDeadLetters(transport, {
            queue,
            deadLetterQueue: state.deadLetterQueueOf(queue),
            idleMs: 500,
          }),
        );
        await refresh();
        return report;
      }
      case 'POST /api/dead-letters/purge': {
        requireWritable(request);
        const body = await readJson(request);
        const queue = queueOf(body.queue);
        const deadLetterQueue = state.deadLetterQueueOf(queue);
        if (body.confirm !== deadLetterQueue) {
          throw new HttpError(
            400,
            `purge removes letters for good: confirm with {"confirm": "${deadLetterQueue}"}`,
          );
        }
        const report = await exclusive(() =>
          purgeDeadLetters(transport, { queue, deadLetterQueue, idleMs: 500 }),
        );
        await refresh();
        return report;
      }
      default:
        throw new HttpError(404, `no such endpoint: ${route}`);
    }
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://dashboard');
    response.setHeader('x-content-type-options', 'nosniff');
    response.setHeader('referrer-policy', 'no-referrer');
    if (options.token !== undefined && !carriesToken(request, url, options.token)) {
      sendJson(response, 401, { error: 'this dashboard needs its token: open it with ?token=...' });
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      api(request, response, url).then(
        (result) => {
          if (result !== undefined) sendJson(response, 200, result);
        },
        (error: unknown) => {
          if (error instanceof HttpError) sendJson(response, error.status, { error: error.message });
          else {
            options.onError?.(error);
            sendJson(response, 500, { error: error instanceof Error ? error.message : String(error) });
          }
        },
      );
      return;
    }
    const file = STATIC_FILES[url.pathname];
    if (file === undefined || (request.method !== 'GET' && request.method !== 'HEAD')) {
      sendJson(response, 404, { error: `not found: ${url.pathname}` });
      return;
    }
    readFile(new URL(file.file, STATIC_DIR)).then(
      (content) => {
        response.writeHead(200, {
          'content-type': file.type,
          'cache-control': 'no-store',
          'content-security-policy': "default-src 'self'; frame-ancestors 'none'",
        });
        response.end(request.method === 'HEAD' ? undefined : content);
      },
      (error: unknown) => sendJson(response, 500, { error: String(error) }),
    );
  });
  server.keepAliveTimeout = 5_000;
  await listen(server, options.address);
  timer = setTimeout(() => void tick(), options.pollMs);
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : options.address.port;
  const host = isIP(options.address.host) === 6 ? `[${options.address.host}]` : options.address.host;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        stopped = true;
        clearTimeout(timer);
        for (const stream of streams) stream.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What the page shows of a letter: no payload (it may hold personal data). */
function letterSummary(letter: DeadLetter) {
  return {
    key: letter.key,
    taskId: letter.taskId,
    task: letter.task,
    kind: letter.kind,
    reason: letter.reason,
    sourceQueue: letter.sourceQueue,
    deadLetteredAt: letter.deadLetteredAt?.toISOString() ?? null,
    deliveryCount: letter.deliveryCount,
  };
}

/** A letter's stored result, as the page shows it; null without a backend, an id or a document. */
async function storedResult(
  results: ResultBackend | undefined,
  taskId: string | null,
): Promise<{ status: string; exception: string | null; traceback: string | null } | null> {
  if (results === undefined || taskId === null) return null;
  const meta = await results.get(taskId).catch(() => null);
  if (meta === null) return null;
  const failure = meta.result as { exc_type?: unknown; exc_message?: unknown } | null;
  const exception =
    meta.status === 'FAILURE' &&
    typeof failure === 'object' &&
    failure !== null &&
    typeof failure.exc_type === 'string'
      ? `${failure.exc_type}: ${Array.isArray(failure.exc_message) ? failure.exc_message.join(' ') : String(failure.exc_message ?? '')}`
      : null;
  return { status: meta.status, exception, traceback: meta.traceback };
}

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

function carriesToken(request: IncomingMessage, url: URL, token: string): boolean {
  const header = request.headers.authorization;
  const given = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('token');
  if (given === null || given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  response.end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'request body too large');
    chunks.push(chunk);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // answered below
  }
  throw new HttpError(400, 'the body must be a JSON object');
}

function listen(server: Server, { host, port }: DashboardAddress): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const why = error.code === 'EADDRINUSE' ? 'the port is in use' : error.message;
      reject(
        new CliError('INVALID_OPTION', `--listen: cannot listen on ${host}:${port}: ${why}`, {
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
