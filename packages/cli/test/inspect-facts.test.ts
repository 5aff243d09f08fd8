import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runBin } from './helpers.js';

// Only reads the local Redis (queue depths, INFO, CONFIG GET): no database is written.
const REDIS = 'redis://127.0.0.1:6379/13';

/** An application folder with @conveyor/redis installed (a link to the workspace package). */
const app = mkdtempSync(join(tmpdir(), 'conveyor-cli-inspect-'));
mkdirSync(join(app, 'node_modules', '@conveyor'), { recursive: true });
symlinkSync(
  fileURLToPath(new URL('../../redis', import.meta.url)),
  join(app, 'node_modules', '@conveyor', 'redis'),
  'dir',
);

afterAll(() => rmSync(app, { recursive: true, force: true }));

describe('conveyor inspect: broker facts', () => {
  it("prints Redis's persistence and eviction policy", async () => {
    const result = await runBin(['inspect', '--broker', REDIS, '--queue', 'inspect-facts'], { cwd: app });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^server {2}Redis \d+\.\d+\.\d+$/m);
    // brokers.sh and docker-compose.yml run it without persistence; a reused Redis may differ.
    expect(result.stdout).toMatch(
      /^persistence {2}(none \(no AOF, no RDB snapshots\)|AOF, appendfsync \w+|RDB snapshots only, save "[\d ]+"): /m,
    );
    expect(result.stdout).toMatch(/^maxmemory-policy {2}noeviction: /m);

    const json = await runBin(['inspect', '--broker', REDIS, '--queue', 'inspect-facts', '--json'], {
      cwd: app,
    });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).facts).toMatchObject({
      persistence: expect.stringMatching(/^none /),
      'maxmemory-policy': expect.stringMatching(/^noeviction/),
    });
  });

  it("prints a third-party transport's brokerFacts(), and nothing for a transport without it", async () => {
    const withFacts = await runBin([
      'inspect',
      '--require',
      './facts-scheme.mjs',
      '--broker',
      'facts+mem://a',
    ]);
    expect(withFacts.code, withFacts.stderr).toBe(0);
    expect(withFacts.stdout).toContain('persistence  none: everything lives in this process\nreplicas  0\n');

    const without = await runBin(['inspect', '--broker', 'memory://', '--json']);
    expect(without.code, without.stderr).toBe(0);
    expect(JSON.parse(without.stdout)).not.toHaveProperty('facts');
  });
});
