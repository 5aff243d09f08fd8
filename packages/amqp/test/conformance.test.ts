import { describeTransportConformance } from '@conveyor/conformance/vitest';
import { rabbitHarness } from './amqp-harness.js';

// The real RabbitMQ 3.10 on 127.0.0.1:5672: every case; RCN-* go through the suite's fault proxy.
describeTransportConformance(rabbitHarness('amqp'));

// Classic queues with priorities (x-max-priority = 9), as task_queue_max_priority = 9 declares them.
describeTransportConformance(rabbitHarness('amqp-priority', { priorityLevels: 10 }), {
  only: ['PRI-01', 'PUB-01', 'ACK-02', 'CLS-01'],
});
