import { describeTracingAcrossBroker } from '@conveyor/test-support';
import { AmqpTransport } from '../src/index.js';
import { RABBIT_URL, rabbitHarness } from './amqp-harness.js';

describeTracingAcrossBroker({
  name: 'RabbitMQ',
  messagingSystem: 'rabbitmq',
  taskName: 'traced.amqp',
  createTransport: () => new AmqpTransport({ url: RABBIT_URL }),
  cleanup: async (queues) => {
    await rabbitHarness('tracing').cleanup?.(queues);
  },
});
