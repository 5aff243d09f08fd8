import { describeCeleryEvents } from '@conveyor/python-interop/vitest';
import { RedisTransport } from '../src/index.js';
import { singleNodeHarness } from './redis-harness.js';

// Celery's own EventReceiver (kombu's Redis fanout: PSUBSCRIBE /14.celeryev/*) watches a Conveyor
// worker and client on db 14. Without Python or Redis the case fails, never skips.
const DB = 14;
const BROKER = `redis://127.0.0.1:6379/${DB}`;

describeCeleryEvents({
  name: 'Redis',
  brokerUrl: BROKER,
  createTransport: () => new RedisTransport({ url: BROKER, pollIntervalMs: 50 }),
  cleanup: (queues) => singleNodeHarness('celery-events', DB).cleanup!(queues),
  compareWithCelery: true,
});
