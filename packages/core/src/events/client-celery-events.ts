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
 * after each task message the broker stored, with `uuid`, `name`, `queue`, `exchange`,
 * `routing_key` and `retries` (the Client's `sent` event carries no arguments: receivers take
 * `args`, `kwargs`, `eta` and `expires` from `task-received`). Returns the function that stops it.
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
    void dispatcher.send('task-sent', {
      uuid: sent.taskId,
      name: sent.name,
      retries: 0,
      queue: sent.queue,
      // kombu publishes to the default (nameless) exchange with the queue as routing key.
      exchange: '',
      routing_key: sent.queue,
    });
  });
}
