import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** Brings up the real Redis, RabbitMQ and ElasticMQ the Redis, AMQP and SQS suites' tests talk to, with the repo's own script (idempotent). */
export default async function setup(): Promise<void> {
  // Set when the brokers are managed elsewhere (docker compose, a shared dev server).
  if (process.env.CONVEYOR_BROKERS_EXTERNAL === '1') return;
  const script = fileURLToPath(new URL('../../../tooling/brokers/brokers.sh', import.meta.url));
  // Without the script, the brokers are expected to be running already (the test says so if it is not).
  if (!existsSync(script)) return;
  await promisify(execFile)('bash', [script, 'up', 'redis', 'rabbitmq', 'sqs', 'kafka'], {
    timeout: 300_000,
  });
}
