// Shared by the smoke tests: bring a broker up through brokers.sh (so `vitest run` alone is enough)
// and make names that never collide with another run's.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export type BrokerName = 'redis' | 'redis-cluster' | 'rabbitmq' | 'kafka' | 'sqs';

/** The first `up` on a fresh machine installs Debian packages and fetches jars from Maven Central. */
export const UP_TIMEOUT_MS = 5 * 60_000;

const script = fileURLToPath(new URL('../brokers.sh', import.meta.url));

/**
 * Runs `bash brokers.sh up <name>`; resolves with its output once the broker answered a round trip.
 * Skipped when CONVEYOR_BROKERS_EXTERNAL=1 (brokers managed elsewhere: docker compose, a shared server).
 */
export function brokerUp(name: BrokerName, timeoutMs = UP_TIMEOUT_MS): Promise<string> {
  if (process.env.CONVEYOR_BROKERS_EXTERNAL === '1') return Promise.resolve('CONVEYOR_BROKERS_EXTERNAL=1');
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [script, 'up', name],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`brokers.sh up ${name} failed: ${error.message}\n${stdout}\n${stderr}`));
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Polls `check` until it returns true (every 20 ms, at most `timeoutMs`). */
export async function until(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
