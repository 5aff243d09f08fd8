import { describeCeleryControl } from '@conveyor/python-interop/vitest';
import { AmqpTransport } from '../src/index.js';
import { RABBIT_URL, rabbitHarness } from './amqp-harness.js';

// Celery's own `celery inspect` and `celery control revoke` (kombu's pidbox: the `celery.pidbox`
// fanout exchange, replies on the `reply.celery.pidbox` direct exchange) talk to a Conveyor worker.
// Without Python or RabbitMQ the case fails, never skips.
describeCeleryControl({
  name: 'AMQP',
  brokerUrl: `${RABBIT_URL}//`,
  createTransport: () => new AmqpTransport(RABBIT_URL),
  cleanup: (queues) => rabbitHarness('celery-control').cleanup!(queues),
});
