import { describeTransportConformance } from '@conveyor/conformance/vitest';
import { rabbitHarness } from './amqp-harness.js';

// Quorum queues (x-queue-type: quorum, delivery limit): the broker counts redeliveries itself.
describeTransportConformance(rabbitHarness('amqp-quorum', { queueType: 'quorum', deliveryLimit: 20 }), {
  only: [
    'PUB-01',
    'ACK-01',
    'ACK-02',
    'CNT-01',
    'CRS-01',
    'LSE-01',
    'CLS-01',
    'CLS-02',
    'DLQ-01',
    'DEL-01',
    'PRE-01',
  ],
});
