import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteQueueCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AmqpTransport } from '@conveyor/amqp';
import type { Endpoint } from '@conveyor/conformance';
import type { Transport } from '@conveyor/core';
import { consumerGroupOf, handoutLedgerGroupOf, KafkaTransport, kafkaTopicName } from '@conveyor/kafka';
import { RedisTransport } from '@conveyor/redis';
import { SqsTransport, sqsQueueName } from '@conveyor/sqs';
import amqplib from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { brokersSh, redisPrivateSh } from './broker-scripts.js';
import type { FaultKind } from './fault-schedule.js';

/** The brokers (and RabbitMQ queue types) a chaos run can target. */
export type BrokerName = 'redis' | 'rabbitmq' | 'rabbitmq-quorum' | 'sqs' | 'kafka';

export const BROKER_NAMES: readonly BrokerName[] = ['redis', 'rabbitmq', 'rabbitmq-quorum', 'sqs', 'kafka'];

/** How long a killed worker's messages stay hidden on Redis and SQS before they come back. */
export const VISIBILITY_TIMEOUT_MS = 5000;
/** Kafka: a SIGKILLed member's partitions move after this (the broker's group.min.session.timeout.ms). */
export const KAFKA_SESSION_TIMEOUT_MS = 6000;
const KAFKA_ADDRESS = '127.0.0.1:9092';
const KAFKA_PARTITIONS = 6;

/**
 * The transport every process of a run uses (workers, producer, observer), pointed at `endpoint`:
 * the fault proxy for workers and producer, the broker itself for the observer.
 */
export function createChaosTransport(broker: BrokerName, endpoint: Endpoint): Transport {
  const address = `${endpoint.host}:${endpoint.port}`;
  switch (broker) {
    case 'redis':
      return new RedisTransport({
        host: endpoint.host,
        port: endpoint.port,
        visibilityTimeoutMs: VISIBILITY_TIMEOUT_MS,
        pollIntervalMs: 50,
        connectTimeoutMs: 5000,
      });
    case 'rabbitmq':
    case 'rabbitmq-quorum':
      return new AmqpTransport({
        url: `amqp://guest:guest@${address}`,
        queueType: broker === 'rabbitmq-quorum' ? 'quorum' : 'classic',
        heartbeatSeconds: 5,
        reconnect: { maxDelayMs: 1000 },
      });
    case 'sqs':
      return new SqsTransport({
        endpoint: `http://${address}`,
        visibilityTimeoutMs: VISIBILITY_TIMEOUT_MS,
        waitTimeSeconds: 1,
      });
    case 'kafka':
      return new KafkaTransport({
        brokers: [address],
        // The broker advertises 127.0.0.1:9092: every connection, not only the bootstrap one, must
        // go through the proxy for a cut to reach it.
        addressMap: { [KAFKA_ADDRESS]: address },
        sessionTimeoutMs: KAFKA_SESSION_TIMEOUT_MS,
        partitions: KAFKA_PARTITIONS,
      });
  }
}

/** A broker prepared for one run: where it listens, and how to stop and start it. */
export interface BrokerUnderTest {
  readonly upstream: Endpoint;
  /** Stops the broker (a broker-restart fault); undefined where the run does not restart it. */
  readonly stop?: () => Promise<void>;
  readonly start?: () => Promise<void>;
  /** Brings it up if a stop left it down (idempotent); called at the end, also after a failure. */
  ensureUp(): Promise<void>;
  /** Removes the run's queues and what the transport made for them. */
  cleanup(queues: readonly string[]): Promise<void>;
  /** Stops what the run started for itself (the private Redis), also when the queues are kept. */
  close(): Promise<void>;
}

/** What docs/reliability.md and the report say about a broker, and how to get one for a run. */
export interface BrokerProfile {
  readonly name: BrokerName;
  /** The durability settings of the run, in a sentence. */
  readonly durability: string;
  /** How a broker-restart fault is done here, or why there is none. */
  readonly restart: string;
  readonly unsupported: readonly FaultKind[];
  open(): Promise<BrokerUnderTest>;
}

/** A TCP port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const REDIS_DURABILITY = ['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''];

const redisProfile: BrokerProfile = {
  name: 'redis',
  durability:
    'a private redis-server 7 (tooling/brokers/redis-private.sh) with AOF `appendfsync always`: each write is fsynced before Redis answers, so an accepted publish and an ack survive a crash',
  restart:
    'SIGKILL of the private redis-server (a crash: no shutdown, no final save), then a start on the same port and folder, which replays the AOF',
  unsupported: [],
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'conveyor-chaos-redis-'));
    const port = await freePort();
    const start = async (): Promise<void> => {
      await redisPrivateSh(['start', dir, String(port), ...REDIS_DURABILITY]);
    };
    await start();
    return {
      upstream: { host: '127.0.0.1', port },
      stop: async () => {
        await redisPrivateSh(['kill', dir]);
      },
      start,
      ensureUp: async () => {
        await start().catch(() => undefined);
      },
      // The server is the run's own: its folder (AOF included) goes.
      cleanup: async () => {
        rmSync(dir, { recursive: true, force: true });
      },
      close: async () => {
        await redisPrivateSh(['stop', dir]);
      },
    };
  },
};

/** RabbitMQ classic or quorum queues on the shared node of tooling/brokers. */
function rabbitProfile(name: 'rabbitmq' | 'rabbitmq-quorum'): BrokerProfile {
  return {
    name,
    durability:
      name === 'rabbitmq'
        ? 'RabbitMQ 3 (shared node), durable classic queue, persistent messages, publisher confirms (a publish resolves once the broker has it on disk)'
        : 'RabbitMQ 3 (shared node), quorum queue (Raft log, fsynced before the confirm), publisher confirms',
    restart:
      '`rabbitmqctl stop_app` (the node stops the broker application: every connection closes), then `start_app`',
    unsupported: [],
    async open() {
      const rabbitmqctl = async (command: string): Promise<void> => {
        await brokersSh(['rabbitmqctl', command], 120_000);
      };
      return {
        upstream: { host: '127.0.0.1', port: 5672 },
        stop: () => rabbitmqctl('stop_app'),
        start: () => rabbitmqctl('start_app'),
        ensureUp: () => rabbitmqctl('start_app'),
        close: async () => undefined,
        cleanup: async (queues) => {
          const connection = await amqplib.connect('amqp://guest:guest@127.0.0.1:5672');
          try {
            const channel = await connection.createChannel();
            for (const queue of queues) {
              await channel.deleteQueue(queue);
              await channel.deleteExchange(queue).catch(() => undefined);
            }
          } finally {
            await connection.close().catch(() => undefined);
          }
        },
      };
    },
  };
}

const sqsProfile: BrokerProfile = {
  name: 'sqs',
  durability:
    'ElasticMQ 1.7 (shared), in-memory queues as tooling/brokers/elasticmq/elasticmq.conf sets them (no message storage)',
  restart:
    'none: the ElasticMQ of tooling/brokers keeps messages in memory only, so a restart loses every message by design (and real SQS cannot be restarted by its user); the connection cuts stand in for a broker outage',
  unsupported: ['broker-restart'],
  async open() {
    return {
      upstream: { host: '127.0.0.1', port: 9324 },
      ensureUp: async () => undefined,
      close: async () => undefined,
      cleanup: async (queues) => {
        const client = new SQSClient({
          endpoint: 'http://127.0.0.1:9324',
          region: 'us-east-1',
          credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
        });
        try {
          for (const queue of queues) {
            const found = await client
              .send(new GetQueueUrlCommand({ QueueName: sqsQueueName(queue, '', false) }))
              .catch(() => undefined);
            if (found?.QueueUrl) await client.send(new DeleteQueueCommand({ QueueUrl: found.QueueUrl }));
          }
        } finally {
          client.destroy();
        }
      },
    };
  },
};

const kafkaProfile: BrokerProfile = {
  name: 'kafka',
  durability: `Kafka 4.1 (shared, KRaft, one node), ${KAFKA_PARTITIONS} partitions, replication factor 1, produce with acks=all; offsets committed after the handler`,
  restart:
    '`brokers.sh down kafka` (SIGTERM: a controlled shutdown that flushes the log), then `brokers.sh up kafka`, which returns once a client round trip works',
  unsupported: [],
  async open() {
    const up = async (): Promise<void> => {
      await brokersSh(['up', 'kafka']);
    };
    return {
      upstream: { host: '127.0.0.1', port: 9092 },
      stop: async () => {
        await brokersSh(['down', 'kafka']);
      },
      start: up,
      ensureUp: up,
      close: async () => undefined,
      cleanup: async (queues) => {
        const admin = new Kafka({
          brokers: [KAFKA_ADDRESS],
          clientId: 'conveyor-chaos-cleanup',
          logLevel: logLevel.NOTHING,
        }).admin();
        await admin.connect();
        try {
          const existing = new Set(await admin.listTopics());
          const topics = queues.map((queue) => kafkaTopicName(queue)).filter((t) => existing.has(t));
          const groups = topics.flatMap((topic) => [consumerGroupOf(topic), handoutLedgerGroupOf(topic)]);
          await admin.deleteGroups(groups).catch(() => undefined);
          if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
        } finally {
          await admin.disconnect();
        }
      },
    };
  },
};

/** The profile of each broker name. */
export const BROKER_PROFILES: Readonly<Record<BrokerName, BrokerProfile>> = {
  redis: redisProfile,
  rabbitmq: rabbitProfile('rabbitmq'),
  'rabbitmq-quorum': rabbitProfile('rabbitmq-quorum'),
  sqs: sqsProfile,
  kafka: kafkaProfile,
};
