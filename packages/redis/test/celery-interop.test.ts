import { describeCeleryInterop } from '@conveyor/python-interop/vitest';
import { RedisResultBackend, RedisTransport } from '../src/index.js';
import { rawClient, singleNodeHarness } from './redis-harness.js';

// Real Python Celery (current release, pinned in tooling/python) on the same Redis db, which is also
// the result backend both sides read and write. The cases are the shared interop suite, with a
// countdown each way (issue 10: a Conveyor countdown used to strand in a zset no Python worker reads).
// Without Python or Redis every case fails, never skips, in CI or not (the suite's SetUpGate).
const DB = 15;
const BROKER = `redis://127.0.0.1:6379/${DB}`;

describeCeleryInterop({
  name: 'Redis',
  // Messages Python pushes wake no Conveyor consumer: the worker finds them by polling, every 50 ms
  // here instead of the default 200 ms, so each case waits less.
  createTransport: (role) =>
    role === 'worker' ? new RedisTransport({ url: BROKER, pollIntervalMs: 50 }) : new RedisTransport(BROKER),
  brokerUrl: BROKER,
  resultBackendUrl: BROKER,
  createResultBackend: () => new RedisResultBackend(BROKER),
  queuePrefix: 'interop',
  async cleanup(queues) {
    await singleNodeHarness('celery-interop', DB).cleanup?.(queues);
    // kombu's routing table: the Celery worker registers its queue under these keys.
    const client = rawClient(DB);
    await client.del(...queues.flatMap((q) => [`_kombu.binding.${q}`, `_kombu.binding_permanent.${q}`]));
    client.disconnect();
  },
});
