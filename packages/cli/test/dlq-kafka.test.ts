import { afterAll, describe, it } from 'vitest';
import { deleteKafkaTopics } from './broker-cleanup.js';
import { type DlqBroker, deadLetterScenario } from './dlq-scenario.js';
import { appWithBrokers } from './helpers.js';

/**
 * `conveyor dlq` on Kafka: the scenario of dlq-scenario.ts. Kafka has a file of its own because
 * every `conveyor` run joins a consumer group (seconds each): this file keeps them to the
 * scenario's seven (two workers, list twice, show, redrive, purge).
 */
const BOOTSTRAP = process.env.CONVEYOR_KAFKA_BROKERS ?? '127.0.0.1:9092';
const RUN = Math.random().toString(36).slice(2, 8);
const BROKER: DlqBroker = { pkg: 'kafka', url: `kafka://${BOOTSTRAP}`, killAfterMs: 60_000 };
const queue = `cli-dlq-${RUN}-kafka`;
const app = appWithBrokers(['kafka']);

afterAll(async () => {
  await deleteKafkaTopics(app, BOOTSTRAP, [queue, `${queue}.dlq`]);
});

describe('conveyor dlq on kafka', () => {
  it('lists the letters a worker dead-lettered, redrives only the filtered task (which then runs), purges the rest', async () => {
    const timings = await deadLetterScenario(BROKER, app, queue);
    console.log(`[dlq kafka] ${JSON.stringify(timings)}`);
  }, 240_000);
});
