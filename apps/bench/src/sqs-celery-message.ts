import { randomUUID } from 'node:crypto';

/**
 * What Celery puts on an SQS queue through kombu (docs/celery-wire.md §4), built by hand so that the
 * anchors send the same bytes as @conveyor/sqs without any of its code: the protocol-2 task JSON,
 * base64 inside kombu's virtual envelope, and the envelope base64 again (`sqs_base64_encoding`).
 */
export function celerySqsBody(queue: string, task: string, value: number): string {
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
      delivery_info: { exchange: '', routing_key: queue },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  };
  return Buffer.from(JSON.stringify(envelope)).toString('base64');
}

/** The task's first argument, read back through both base64 layers (what any Celery consumer decodes). */
export function celerySqsArgument(messageBody: string): number {
  const envelope = JSON.parse(Buffer.from(messageBody, 'base64').toString('utf8')) as { body: string };
  const task = JSON.parse(Buffer.from(envelope.body, 'base64').toString('utf8')) as [[number]];
  return task[0][0];
}
