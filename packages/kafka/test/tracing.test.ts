import { describeTracingAcrossBroker } from '@conveyor/test-support';
import { deleteQueues, fastTransport } from './kafka-harness.js';

describeTracingAcrossBroker({
  name: 'Kafka',
  messagingSystem: 'kafka',
  taskName: 'traced.kafka',
  createTransport: () => fastTransport(),
  cleanup: deleteQueues,
});
