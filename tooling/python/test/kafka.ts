// Test-only helpers for the Kafka self-tests: find the Kafka that tooling/brokers starts (this package
// has no Kafka client; the Python side speaks Kafka through confluent-kafka).

import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { ensurePythonCelery } from '../src/index.js';
import { warnOrFailInCi } from './redis.js';

export type KafkaCheck = { ok: true; bootstrap: string } | { ok: false; reason: string };

/** Kafka for the tests: CONVEYOR_KAFKA_BROKERS (first entry), default 127.0.0.1:9092. */
export const KAFKA_BOOTSTRAP = (process.env.CONVEYOR_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')[0] ?? '';

/** Celery's broker URL for that bootstrap server: kombu's confluentkafka transport. */
export function celeryKafkaUrl(bootstrap: string = KAFKA_BOOTSTRAP): string {
  return `confluentkafka://${bootstrap}`;
}

/** Whether something accepts TCP connections at host:port (a Kafka listener), within 3 s. */
function listening(hostPort: string): Promise<true | string> {
  const at = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, at) || '127.0.0.1';
  const port = Number(hostPort.slice(at + 1) || 9092);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: true | string) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(3000, () => done('timed out'));
    socket.once('connect', () => done(true));
    socket.once('error', (error) => done(error.message));
  });
}

/**
 * Kafka for a test file that cannot run without it: skipped with a warning on a developer's machine,
 * failed under CI (see warnOrFailInCi).
 */
export async function kafkaOrSkip(what: string): Promise<KafkaCheck> {
  const answer = await listening(KAFKA_BOOTSTRAP);
  if (answer === true) return { ok: true, bootstrap: KAFKA_BOOTSTRAP };
  const reason = `no Kafka at ${KAFKA_BOOTSTRAP} (bash tooling/brokers/brokers.sh up kafka): ${answer}`;
  warnOrFailInCi(what, reason);
  return { ok: false, reason };
}

/**
 * Deletes Kafka topics and consumer groups through the venv's confluent-kafka admin client (missing
 * ones are ignored): what a self-test made, by its own unique names.
 */
export async function deleteKafkaTopics(
  topics: readonly string[],
  groups: readonly string[] = [],
): Promise<void> {
  const python = await ensurePythonCelery();
  const code = [
    'import json, sys',
    'from confluent_kafka.admin import AdminClient',
    'admin = AdminClient({"bootstrap.servers": sys.argv[1]})',
    'topics, groups = json.loads(sys.argv[2]), json.loads(sys.argv[3])',
    'futures = list(admin.delete_consumer_groups(groups).values()) if groups else []',
    'futures += list(admin.delete_topics(topics, operation_timeout=30).values()) if topics else []',
    'for f in futures:',
    '    try: f.result(timeout=30)',
    '    except Exception: pass',
  ].join('\n');
  const out = spawnSync(
    python,
    ['-c', code, KAFKA_BOOTSTRAP, JSON.stringify(topics), JSON.stringify(groups)],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  if (out.status !== 0) throw new Error(`deleting Kafka topics ${topics.join(', ')}: ${out.stderr}`);
}
