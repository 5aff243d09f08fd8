// A real Flower (pinned in requirements.txt) for the tests of Conveyor's Celery events: started on
// a free port of 127.0.0.1 with its API open (FLOWER_UNAUTHENTICATED_API), stopped by the test.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { ensurePythonCelery, INTEROP_DIR } from './celery.js';

/** A running Flower. */
export interface RunningFlower {
  /** e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** GET `path` and parse the JSON answer. */
  getJson(path: string): Promise<unknown>;
  stop(): Promise<void>;
}

/** Starts `celery -A celery_app flower` on `brokerUrl`; resolves once its event consumer is connected. */
export async function startFlower(options: {
  brokerUrl: string;
  timeoutMs?: number;
}): Promise<RunningFlower> {
  const python = await ensurePythonCelery();
  const port = await freePort();
  const child = spawn(
    python,
    ['-m', 'celery', '-A', 'celery_app', 'flower', `--port=${port}`, '--address=127.0.0.1'],
    {
      cwd: INTEROP_DIR,
      env: {
        ...process.env,
        PYTHONUNBUFFERED: '1',
        CELERY_BROKER_URL: options.brokerUrl,
        FLOWER_UNAUTHENTICATED_API: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let log = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const connected = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      log = (log + chunk.toString('utf8')).slice(-8000);
      // kombu's ConsumerMixin logs this once Flower's event receiver is connected.
      if (/Connected to /.test(log)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => reject(new Error(`Flower exited before it connected:\n${log}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      connected,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Flower did not connect within ${options.timeoutMs ?? 30_000} ms:\n${log}`)),
          options.timeoutMs ?? 30_000,
        );
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    url,
    stop,
    async getJson(path) {
      const response = await fetch(`${url}${path}`);
      if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status} ${await response.text()}`);
      return response.json();
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
