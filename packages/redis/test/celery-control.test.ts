import { describeCeleryControl } from '@conveyor/python-interop/vitest';
import { RedisTransport } from '../src/index.js';
import { singleNodeHarness } from './redis-harness.js';

// Celery's own `celery inspect` and `celery control revoke` (kombu's pidbox: PUBLISH on
// /6.celery.pidbox, replies LPUSHed onto the caller's <oid>.reply.celery.pidbox list) talk to a
// Conveyor worker on db 6. Without Python or Redis the case fails, never skips.
const DB = 6;
const BROKER = `redis://127.0.0.1:6379/${DB}`;

describeCeleryControl({
  name: 'Redis',
  brokerUrl: BROKER,
  createTransport: () => new RedisTransport({ url: BROKER, pollIntervalMs: 50 }),
  cleanup: (queues) => singleNodeHarness('celery-control', DB).cleanup!(queues),
});
