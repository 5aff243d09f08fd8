// Celery's own event receiver, for the tests of Conveyor's Celery events: capture_events.py runs
// celery.events.EventReceiver (and feeds celery.events.state.State, Flower's model) against a
// broker and reports every event as JSON lines.
import { spawn } from 'node:child_process';
import { ensurePythonCelery, INTEROP_DIR } from './celery.js';

/** One event as Celery's receiver got it. */
export interface CapturedCeleryEvent {
  /** The body as published. */
  event: Record<string, unknown>;
  /** After the receiver's clock and timestamp handling (`local_received` added). */
  processed: Record<string, unknown>;
  headers: Record<string, unknown>;
  content_type: string;
  content_encoding: string;
  routing_key: string;
}

/** What celery.events.state.State made of the events. */
export interface CeleryEventState {
  workers: Record<string, Record<string, unknown>>;
  tasks: Record<string, Record<string, unknown>>;
}

/** A running capture. */
export interface CeleryEventCapture {
  /** Events so far, in arrival order. */
  readonly events: CapturedCeleryEvent[];
  /** Resolves once an event matches (or rejects after `timeoutMs`). */
  waitFor(match: (event: CapturedCeleryEvent) => boolean, timeoutMs?: number): Promise<CapturedCeleryEvent>;
  /** Resolves when the receiver stops (after `until` or its timeout) with State's view. */
  readonly finished: Promise<CeleryEventState>;
  /** Ends the capture now. */
  stop(): void;
}

/**
 * Starts Celery's event receiver on `brokerUrl`; resolves once its queue is bound, so every event
 * published afterwards is captured. `until` (`<type>@<hostname>`) ends it after that event.
 */
export async function captureCeleryEvents(options: {
  brokerUrl: string;
  until?: string;
  timeoutMs?: number;
}): Promise<CeleryEventCapture> {
  const python = await ensurePythonCelery();
  const timeoutSeconds = (options.timeoutMs ?? 30_000) / 1000;
  const args = ['capture_events.py', '--timeout', String(timeoutSeconds)];
  if (options.until) args.push('--until', options.until);
  const child = spawn(python, args, {
    cwd: INTEROP_DIR,
    env: { ...process.env, PYTHONUNBUFFERED: '1', CELERY_BROKER_URL: options.brokerUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: CapturedCeleryEvent[] = [];
  const waiters = new Set<() => void>();
  let state: CeleryEventState | undefined;
  let ready: () => void = () => {};
  let stderr = '';
  let pending = '';
  const readyPromise = new Promise<void>((resolve) => {
    ready = resolve;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
      if (!line.startsWith('{')) continue;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.ready) ready();
      else if (parsed.state) state = parsed.state as CeleryEventState;
      else events.push(parsed as unknown as CapturedCeleryEvent);
      for (const waiter of waiters) waiter();
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const finished = exited.then((code) => {
    if (state === undefined) throw new Error(`capture_events.py exited ${code} without a state:\n${stderr}`);
    return state;
  });
  finished.catch(() => {});
  await Promise.race([
    readyPromise,
    exited.then((code) => {
      throw new Error(`capture_events.py exited ${code} before it was ready:\n${stderr}`);
    }),
  ]);
  return {
    events,
    finished,
    stop: () => void child.kill('SIGTERM'),
    waitFor(match, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = events.find(match);
          if (found === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching Celery event within ${timeoutMs} ms; got ${events.map((e) => e.event.type).join(', ')}\n${stderr}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}
