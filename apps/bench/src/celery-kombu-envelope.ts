import { randomUUID } from 'node:crypto';

/**
 * kombu's virtual-transport envelope of a Celery task with one argument (docs/celery-wire.md §2.7):
 * the protocol-2 task JSON, base64 inside the JSON envelope. Redis, SQS and Kafka carry this text
 * (SQS base64s it once more). Built by hand so that the raw anchors send the same bytes as the
 * Conveyor packages without any of their code.
 */
export function celeryKombuEnvelope(routingKey: string, task: string, value: number): string {
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
      delivery_info: { exchange: '', routing_key: routingKey },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  };
  return JSON.stringify(envelope);
}

/** The task's first argument, read back through the envelope and its base64 body (what any Celery consumer decodes). */
export function celeryKombuArgument(envelopeText: string): number {
  const envelope = JSON.parse(envelopeText) as { body: string };
  const task = JSON.parse(Buffer.from(envelope.body, 'base64').toString('utf8')) as [[number]];
  return task[0][0];
}
