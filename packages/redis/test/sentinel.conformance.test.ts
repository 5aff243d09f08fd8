import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeTransportConformance } from '@conveyor/conformance/vitest';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisTransport } from '../src/index.js';
import { REDIS } from './redis-harness.js';

// A real Redis Sentinel (Debian's redis-server in sentinel mode) watching the test Redis: the
// transport finds the master through it, as a production client would.
const SENTINEL_PORT = 26_379 + Math.floor(Math.random() * 500);
let sentinel: ChildProcess | undefined;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-sentinel-'));
  const config = join(dir, 'sentinel.conf');
  writeFileSync(
    config,
    [
      `port ${SENTINEL_PORT}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor conveyor-test ${REDIS.host} ${REDIS.port} 1`,
      'sentinel down-after-milliseconds conveyor-test 5000',
    ].join('\n'),
  );
  sentinel = spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' });
  const probe = new Redis({
    host: '127.0.0.1',
    port: SENTINEL_PORT,
    lazyConnect: true,
    retryStrategy: () => 100,
  });
  probe.on('error', () => {});
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await probe.connect().catch(() => {});
      const master = (await probe.call('SENTINEL', 'get-master-addr-by-name', 'conveyor-test')) as
        | string[]
        | null;
      if (master?.[1] === String(REDIS.port)) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('redis sentinel did not come up');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  probe.disconnect();
}, 30_000);

afterAll(() => {
  sentinel?.kill('SIGTERM');
});

describeTransportConformance(
  {
    name: 'redis-sentinel',
    createTransport: ({ visibilityTimeoutMs }) =>
      new RedisTransport({
        url: `redis+sentinel://127.0.0.1:${SENTINEL_PORT}/conveyor-test/9`,
        pollIntervalMs: 50,
        ...(visibilityTimeoutMs !== undefined ? { visibilityTimeoutMs } : {}),
      }),
  },
  {
    only: [
      'MAN-01',
      'LIF-01',
      'PUB-01',
      'ACK-02',
      'CNT-01',
      'CRS-01',
      'LSE-01',
      'CLS-01',
      'CLS-02',
      'DEL-01',
      'PRI-01',
    ],
  },
);
