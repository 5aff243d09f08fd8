import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { openTransport } from '../src/broker.js';

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const QUEUE = 'demo-broker-test';

/**
 * The README's demo command on every built broker, exactly as `bash tooling/scripts/dev.sh demo
 * --broker URL` runs it: `node apps/demo/dist/main.js` from the repo root, where pnpm's strict
 * layout shows no broker package (this is what used to stop with "@conveyor/redis is not
 * installed").
 */
const BROKERS = [
  { name: 'memory', url: 'memory://' },
  { name: 'redis', url: 'redis://127.0.0.1:6379/3' },
  { name: 'amqp', url: 'amqp://guest:guest@127.0.0.1:5672' },
  // ElasticMQ from tooling/brokers; a 1 s long poll so that the demo's worker stops quickly.
  { name: 'sqs', url: 'sqs://127.0.0.1:9324?waitTimeSeconds=1' },
  // The KRaft node from tooling/brokers; the worker's consumer group joins in a few seconds.
  { name: 'kafka', url: 'kafka://127.0.0.1:9092' },
];

/** The environment of a user's shell: no NODE_PATH (pnpm's bin shims add its hidden store) or CONVEYOR_*. */
function shellEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key !== 'NODE_PATH' && !key.startsWith('CONVEYOR_')) env[key] = value;
  }
  return env;
}

/** Acks everything in a queue, so that runs do not pile dead letters up on the shared broker. */
async function drain(url: string, queue: string): Promise<void> {
  const transport = await openTransport(url);
  await transport.connect();
  const stop = new AbortController();
  try {
    await transport.consume(queue, (delivery) => delivery.ack(), { prefetch: 100, signal: stop.signal });
    const deadline = Date.now() + 10_000;
    while ((await transport.queueDepth(queue)).ready > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    stop.abort();
    await transport.close();
  }
}

describe('the README demo command, from the repo root', () => {
  afterAll(async () => {
    for (const { url } of BROKERS.filter((b) => b.name !== 'memory')) await drain(url, `${QUEUE}.dlq`);
  });

  for (const { name, url } of BROKERS) {
    it(`runs on ${name}: every task sent succeeds or is dead-lettered, as planned`, async () => {
      const { stdout } = await run(
        process.execPath,
        ['apps/demo/dist/main.js', '--tasks', '300', '--broker', url, '--queue', QUEUE],
        { cwd: REPO_ROOT, env: shellEnv(), timeout: 60_000 },
      );
      const number = (label: string): number => {
        const match = new RegExp(`^\\s+${label}\\s+(\\d+)`, 'm').exec(stdout);
        if (!match) throw new Error(`no "${label}" line in:\n${stdout}`);
        return Number(match[1]);
      };
      expect(stdout).toContain(`tasks on ${url.replace(/\/\/[^@/]*:[^@/]*@/, '//guest:***@')}`);
      expect(number('tasks sent')).toBe(300);
      const succeeded = number('succeeded');
      const deadLettered = number('dead-lettered');
      expect(succeeded + deadLettered).toBe(300);
      expect(deadLettered).toBeGreaterThan(0);
      expect(number('retries')).toBeGreaterThan(0);
      // The dead-letter queue on the broker grew by exactly what the worker dead-lettered.
      expect(stdout).toMatch(new RegExp(`\\(${QUEUE}\\.dlq depth \\d+, \\+${deadLettered} this run\\)`));
      expect(stdout).toContain('✓ matches');
    });
  }
});
