import { describeFlower } from '@conveyor/python-interop/vitest';
import { RedisTransport } from '../src/index.js';
import { singleNodeHarness } from './redis-harness.js';

// A real Flower (pinned in tooling/python), started here on db 13, lists a Conveyor worker that
// sends Celery events and its tasks through its HTTP API. Without Python or Redis the case fails,
// never skips.
const DB = 13;
const BROKER = `redis://127.0.0.1:6379/${DB}`;

describeFlower({
  name: 'Redis',
  brokerUrl: BROKER,
  createTransport: () => new RedisTransport({ url: BROKER, pollIntervalMs: 50 }),
  cleanup: (queues) => singleNodeHarness('flower', DB).cleanup!(queues),
});
