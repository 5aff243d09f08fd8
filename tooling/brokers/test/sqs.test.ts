import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerUp, UP_TIMEOUT_MS, uniqueName } from './brokers.js';

describe('sqs (ElasticMQ) on http://127.0.0.1:9324', () => {
  const sqs = new SQSClient({
    endpoint: 'http://127.0.0.1:9324',
    region: 'us-east-1',
    credentials: { accessKeyId: 'conveyor', secretAccessKey: 'conveyor' },
  });
  const queueUrls: string[] = [];

  beforeAll(async () => {
    await brokerUp('sqs');
  }, UP_TIMEOUT_MS);

  afterAll(async () => {
    for (const QueueUrl of queueUrls) await sqs.send(new DeleteQueueCommand({ QueueUrl }));
    sqs.destroy();
  });

  async function createQueue(QueueName: string, Attributes?: Record<string, string>): Promise<string> {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName, Attributes }));
    expect(QueueUrl).toBe(`http://127.0.0.1:9324/000000000000/${QueueName}`);
    queueUrls.push(QueueUrl!);
    return QueueUrl!;
  }

  async function receiveAll(QueueUrl: string, count: number): Promise<Message[]> {
    const messages: Message[] = [];
    for (let attempt = 0; attempt < 10 && messages.length < count; attempt++) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      messages.push(...Messages);
    }
    return messages;
  }

  async function expectEmpty(QueueUrl: string): Promise<void> {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0 }));
    expect(Messages).toEqual([]);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
  }

  it('standard queue: send, receive, delete, then empty', async () => {
    const QueueUrl = await createQueue(uniqueName('conveyor-brokers'));
    const bodies = ['alpha', 'beta', 'gamma'];
    for (const [i, MessageBody] of bodies.entries()) {
      const sent = await sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody,
          MessageAttributes: { index: { DataType: 'Number', StringValue: String(i) } },
        }),
      );
      expect(sent.MessageId).toBeTruthy();
    }

    const received = await receiveAll(QueueUrl, bodies.length);
    expect(received.map((m) => m.Body).sort()).toEqual([...bodies].sort());
    for (const message of received) {
      expect(message.MessageAttributes?.index?.StringValue).toBe(String(bodies.indexOf(message.Body!)));
      expect(message.Attributes?.ApproximateReceiveCount).toBe('1');
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
    await expectEmpty(QueueUrl);
  });

  it('FIFO queue: keeps order within a group and drops duplicates', async () => {
    const QueueUrl = await createQueue(`${uniqueName('conveyor-brokers')}.fifo`, {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
    });
    const bodies = ['first', 'second', 'third'];
    for (const MessageBody of [...bodies, 'first']) {
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody, MessageGroupId: 'group-a' }));
    }

    const received = await receiveAll(QueueUrl, bodies.length);
    expect(received.map((m) => m.Body)).toEqual(bodies);
    expect(received.every((m) => m.Attributes?.MessageGroupId === 'group-a')).toBe(true);
    for (const message of received) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
    await expectEmpty(QueueUrl);
  });

  it('answers a missing queue with QueueDoesNotExist', async () => {
    await expect(
      sqs.send(new GetQueueUrlCommand({ QueueName: uniqueName('missing') })),
    ).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
  });
});
