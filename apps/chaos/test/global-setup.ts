import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** Brings up RabbitMQ, ElasticMQ and Kafka with the repo's script (idempotent); Redis runs privately per run. */
export default async function setup(): Promise<void> {
  // Set when the brokers are managed elsewhere (docker compose, a shared dev server).
  if (process.env.CONVEYOR_BROKERS_EXTERNAL === '1') return;
  const script = fileURLToPath(new URL('../../../tooling/brokers/brokers.sh', import.meta.url));
  if (!existsSync(script)) return;
  // `redis` too: it installs the redis-server that tooling/brokers/redis-private.sh runs.
  await promisify(execFile)('bash', [script, 'up', 'redis', 'rabbitmq', 'sqs', 'kafka'], {
    timeout: 300_000,
  });
}
