import { describeTracingAcrossBroker } from '@conveyor/test-support';
import { deleteQueues, fastTransport } from './sqs-harness.js';

describeTracingAcrossBroker({
  name: 'SQS (ElasticMQ)',
  messagingSystem: 'aws_sqs',
  taskName: 'traced.sqs',
  createTransport: () => fastTransport(),
  cleanup: (queues) => deleteQueues(queues),
});
