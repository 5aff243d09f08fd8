import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** Brings up the real brokers the demo runs on (Redis, RabbitMQ, ElasticMQ, Kafka), with the repo's own script (idempotent). */
export default async function setup(): Promise<void> {
  // Set when the brokers are managed elsewhere (docker compose, a shared dev server).
  if (process.env.CONVEYOR_BROKERS_EXTERNAL === '1') return;
  const script = fileURLToPath(new URL('../../../tooling/brokers/brokers.sh', import.meta.url));
  await promisify(execFile)('bash', [script, 'up', 'redis', 'rabbitmq', 'sqs', 'kafka'], {
    timeout: 300_000,
  });
}
