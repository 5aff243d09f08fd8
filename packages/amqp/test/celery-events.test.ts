import { describeCeleryEvents } from '@conveyor/python-interop/vitest';
import { AmqpTransport } from '../src/index.js';
import { RABBIT_URL, rabbitHarness } from './amqp-harness.js';

// Celery's own EventReceiver (a celeryev.<uuid> queue bound to the `celeryev` topic exchange with
// `#`) watches a Conveyor worker and client. Without Python or RabbitMQ the case fails, never skips.
describeCeleryEvents({
  name: 'AMQP',
  brokerUrl: `${RABBIT_URL}//`,
  createTransport: () => new AmqpTransport(RABBIT_URL),
  cleanup: (queues) => rabbitHarness('celery-events').cleanup!(queues),
});
