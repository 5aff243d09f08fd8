import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
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
  await deleteTopics([queue, `${queue}.dlq`]);
});

describe('conveyor dlq on kafka', () => {
  it('lists the letters a worker dead-lettered, redrives only the filtered task (which then runs), purges the rest', async () => {
    const timings = await deadLetterScenario(BROKER, app, queue);
    console.log(`[dlq kafka] ${JSON.stringify(timings)}`);
  }, 240_000);
});

/** Deletes the topics and their consumer groups with the project's kafkajs (the transport deletes nothing). */
async function deleteTopics(topics: string[]): Promise<void> {
  const inApp = createRequire(join(app, 'node_modules', '@conveyor', 'kafka', 'package.json'));
  const kafkajs = (await import(inApp.resolve('kafkajs'))) as {
    Kafka: new (
      config: object,
    ) => {
      admin(): {
        connect(): Promise<void>;
        disconnect(): Promise<void>;
        listTopics(): Promise<string[]>;
        deleteTopics(request: { topics: string[] }): Promise<void>;
        deleteGroups(groupIds: string[]): Promise<unknown>;
      };
    };
    logLevel: { NOTHING: number };
  };
  const conveyorKafka = (await import(inApp.resolve('@conveyor/kafka'))) as {
    consumerGroupOf(topic: string): string;
    handoutLedgerGroupOf(topic: string): string;
    kafkaTopicName(queue: string): string;
  };
  const admin = new kafkajs.Kafka({
    clientId: 'cli-dlq-test',
    brokers: BOOTSTRAP.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const names = topics.map((t) => conveyorKafka.kafkaTopicName(t));
    const existing = (await admin.listTopics()).filter((t) => names.includes(t));
    if (existing.length === 0) return;
    const groups = existing.flatMap((t) => [
      conveyorKafka.consumerGroupOf(t),
      conveyorKafka.handoutLedgerGroupOf(t),
    ]);
    await admin.deleteGroups(groups).catch(() => {});
    await admin.deleteTopics({ topics: existing });
  } finally {
    await admin.disconnect();
  }
}
