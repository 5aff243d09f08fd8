import { hostname } from 'node:os';
import { UnsupportedFeatureError } from '../errors/transport-errors.js';
import type { Client } from '../runtime/client.js';
import { CeleryEventDispatcher } from './event-dispatcher.js';

/** Options of sendTaskSentEvents. */
export interface TaskSentEventsOptions {
  /** The `hostname` of the events; default Celery's anonymous node name, `gen<pid>@<host>`. */
  hostname?: string;
  /** Told when an event cannot be published (events never fail a send). */
  onError?: (error: unknown) => void;
}

/**
 * Celery's `task_send_sent_event` for a Client: a `task-sent` event on the transport's broadcast
 * after each task message the broker stored, with the fields of Celery's (`amqp.as_task_v2` and
 * `send_task_message`), read from the message's headers. Returns the function that stops it.
 */
export function sendTaskSentEvents(client: Client, options: TaskSentEventsOptions = {}): () => void {
  const { transport } = client;
  if (!transport.capabilities.broadcast || transport.broadcast === undefined) {
    throw new UnsupportedFeatureError('broadcast', 'task-sent events need a transport that can fan out', {
      transport: transport.name,
    });
  }
  const dispatcher = new CeleryEventDispatcher({
    broadcast: transport.broadcast,
    hostname: options.hostname ?? `gen${process.pid}@${hostname()}`,
    onError: options.onError,
  });
  return client.on('sent', (sent) => {
    const h = sent.headers;
    void dispatcher.send('task-sent', {
      uuid: sent.taskId,
      root_id: h.root_id ?? sent.taskId,
      parent_id: h.parent_id ?? null,
      name: sent.name,
      args: h.argsrepr ?? null,
      kwargs: h.kwargsrepr ?? null,
      retries: h.retries ?? 0,
      eta: h.eta ?? null,
      expires: h.expires ?? null,
      queue: sent.queue,
      // kombu publishes to the default (nameless) exchange with the queue as routing key.
      exchange: '',
      routing_key: sent.queue,
    });
  });
}
