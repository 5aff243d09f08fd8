import { randomUUID } from 'node:crypto';

/**
 * What Celery puts on a Kafka topic through kombu (docs/celery-wire.md §5): the protocol-2 task JSON,
 * base64 inside kombu's JSON envelope, and the envelope as the record value (no key, no headers).
 * Built by hand so that the raw anchors send the same bytes as @conveyor/kafka without any of its
 * code.
 */
export function celeryKafkaValue(topic: string, task: string, value: number): Buffer {
  const id = randomUUID();
  const body = JSON.stringify([[value], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
  const envelope = {
    body: Buffer.from(body).toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: {
      lang: 'py',
      task,
      id,
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      root_id: id,
      parent_id: null,
      argsrepr: `(${value},)`,
      kwargsrepr: '{}',
      origin: `gen${process.pid}@bench`,
      ignore_result: true,
    },
    properties: {
      correlation_id: id,
      reply_to: null,
      delivery_mode: 2,
      delivery_info: { exchange: '', routing_key: topic },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  };
  return Buffer.from(JSON.stringify(envelope));
}

/** The task's first argument, read back through the envelope and its base64 body (what any Celery consumer decodes). */
export function celeryKafkaArgument(recordValue: Buffer | null | undefined): number {
  if (!recordValue) throw new Error('Kafka record without a value');
  const envelope = JSON.parse(recordValue.toString('utf8')) as { body: string };
  const task = JSON.parse(Buffer.from(envelope.body, 'base64').toString('utf8')) as [[number]];
  return task[0][0];
}
