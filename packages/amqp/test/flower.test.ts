import { describeFlower } from '@conveyor/python-interop/vitest';
import { AmqpTransport } from '../src/index.js';
import { RABBIT_URL, rabbitHarness } from './amqp-harness.js';

// A real Flower (pinned in tooling/python) on RabbitMQ lists a Conveyor worker that sends Celery
// events and its tasks through its HTTP API. Without Python or RabbitMQ the case fails, never skips.
describeFlower({
  name: 'AMQP',
  brokerUrl: `${RABBIT_URL}//`,
  createTransport: () => new AmqpTransport(RABBIT_URL),
  cleanup: (queues) => rabbitHarness('flower').cleanup!(queues),
});
