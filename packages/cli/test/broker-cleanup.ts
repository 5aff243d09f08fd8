import { createRequire } from 'node:module';
import { join } from 'node:path';

/*
 * Removes what a test file left on a broker. The transports delete nothing of a queue, so these use
 * the client libraries the project's broker package itself installed (resolved from `app`, a folder
 * from appWithBrokers), not whatever this test process would resolve.
 */

/** Resolves `specifier` as the project's @conveyor/`pkg` would. */
function resolveBeside(app: string, pkg: string, specifier: string): string {
  return createRequire(join(app, 'node_modules', '@conveyor', pkg, 'package.json')).resolve(specifier);
}

/** Deletes the SQS queues whose names start with `prefix`, with the SDK of the project's @conveyor/sqs. */
export async function deleteSqsQueues(app: string, endpoint: string, prefix: string): Promise<void> {
  const sdk = (await import(resolveBeside(app, 'sqs', '@aws-sdk/client-sqs'))) as {
    SQSClient: new (
      config: object,
    ) => { send(command: object): Promise<{ QueueUrls?: string[] }>; destroy(): void };
    ListQueuesCommand: new (input: { QueueNamePrefix: string }) => object;
    DeleteQueueCommand: new (input: { QueueUrl: string }) => object;
  };
  const sqs = new sdk.SQSClient({
    endpoint,
    region: 'elasticmq',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  try {
    const { QueueUrls = [] } = await sqs.send(new sdk.ListQueuesCommand({ QueueNamePrefix: prefix }));
    for (const QueueUrl of QueueUrls) await sqs.send(new sdk.DeleteQueueCommand({ QueueUrl }));
  } finally {
    sqs.destroy();
  }
}

/** Deletes each RabbitMQ queue, its dead-letter queue and its exchange, with the project's amqplib. */
export async function deleteRabbitQueues(app: string, url: string, queues: readonly string[]): Promise<void> {
  const amqplib = (await import(resolveBeside(app, 'amqp', 'amqplib'))) as {
    connect(url: string): Promise<{
      createChannel(): Promise<{
        deleteQueue(name: string): Promise<unknown>;
        deleteExchange(name: string): Promise<unknown>;
      }>;
      close(): Promise<void>;
    }>;
  };
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) {
      await channel.deleteQueue(queue);
      await channel.deleteQueue(`${queue}.dlq`);
      await channel.deleteExchange(queue);
    }
  } finally {
    await connection.close();
  }
}

/** Deletes the Redis keys matching `pattern` (the transport's bookkeeping outlives an empty queue). */
export async function deleteRedisKeys(app: string, url: string, pattern: string): Promise<void> {
  const { Redis } = (await import(resolveBeside(app, 'redis', 'ioredis'))) as {
    Redis: new (
      url: string,
    ) => {
      keys(pattern: string): Promise<string[]>;
      del(...keys: string[]): Promise<number>;
      quit(): Promise<unknown>;
    };
  };
  const redis = new Redis(url);
  try {
    const keys = await redis.keys(pattern);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    await redis.quit();
  }
}

/**
 * Deletes the Kafka topics of these queues and their consumer groups, with the project's kafkajs
 * and the topic and group naming of its @conveyor/kafka.
 */
export async function deleteKafkaTopics(
  app: string,
  bootstrap: string,
  queues: readonly string[],
): Promise<void> {
  const kafkajs = (await import(resolveBeside(app, 'kafka', 'kafkajs'))) as {
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
  const conveyorKafka = (await import(resolveBeside(app, 'kafka', '@conveyor/kafka'))) as {
    consumerGroupOf(topic: string): string;
    handoutLedgerGroupOf(topic: string): string;
    kafkaTopicName(queue: string): string;
  };
  const admin = new kafkajs.Kafka({
    clientId: 'cli-test-cleanup',
    brokers: bootstrap.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const names = queues.map((queue) => conveyorKafka.kafkaTopicName(queue));
    const existing = (await admin.listTopics()).filter((topic) => names.includes(topic));
    if (existing.length === 0) return;
    const groups = existing.flatMap((topic) => [
      conveyorKafka.consumerGroupOf(topic),
      conveyorKafka.handoutLedgerGroupOf(topic),
    ]);
    // A group may never have been created (nobody consumed the topic); that must not keep the topics.
    await admin.deleteGroups(groups).catch(() => {});
    await admin.deleteTopics({ topics: existing });
  } finally {
    await admin.disconnect();
  }
}
