import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const script = fileURLToPath(new URL('../../../tooling/brokers/redis-private.sh', import.meta.url));
const run = (...args: string[]): Promise<{ stdout: string }> =>
  promisify(execFile)('bash', [script, ...args], { timeout: 30_000 });

/** A redis-server of the test's own (tooling/brokers/redis-private.sh): crash it, restart it. */
export interface PrivateRedis {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Its data folder: a restart replays what the server persisted there. */
  readonly dir: string;
  /** SIGKILL: no shutdown, no final save, as a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder, with the same options. */
  restart(): Promise<void>;
  /** Stops it and deletes its folder. */
  dispose(): Promise<void>;
}

/** A TCP port nothing listens on now (the OS picks it; the server takes it a moment later). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts a private redis-server with `options` (redis-server command-line form). */
export async function startPrivateRedis(options: readonly string[]): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-redis-'));
  const port = await freePort();
  const start = (): Promise<unknown> => run('start', dir, String(port), ...options);
  await start();
  return {
    host: '127.0.0.1',
    port,
    dir,
    kill: async () => {
      await run('kill', dir);
    },
    restart: async () => {
      await start();
    },
    dispose: async () => {
      await run('stop', dir).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
