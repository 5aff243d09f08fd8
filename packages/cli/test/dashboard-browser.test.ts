import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@conveyor/core';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteRedisKeys } from './broker-cleanup.js';
import { appWithBrokers, FIXTURES, type RunningBin, startBin, transportInApp } from './helpers.js';

/**
 * `conveyor dashboard` end to end in headless Chromium (Debian's package, driven by
 * playwright-core) on Redis with a real `conveyor worker --events`: the counts change on the page
 * without a reload, each dead letter shows the exception its task stored (--results), the Redrive button sends the dead letters back and the worker runs them, Purge
 * asks before it removes anything, and a read-only dashboard has no buttons and refuses writes.
 * UPDATE_SCREENSHOTS=1 writes the screenshots of docs/dashboard.md.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const REDIS = 'redis://127.0.0.1:6379/13';
const RUN = Math.random().toString(36).slice(2, 8);
const TASKS = join(FIXTURES, 'dashboard-tasks.mjs');
const SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));
const updateScreenshots = process.env.UPDATE_SCREENSHOTS === '1';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) {
  throw new Error(`Chromium is missing at ${CHROMIUM}: install it with bash tooling/scripts/setup.sh`);
}

const app = appWithBrokers(['redis']);
const running: RunningBin[] = [];
let browser: Browser | undefined;

beforeAll(async () => {
  if (haveChromium) {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
  }
});

afterAll(async () => {
  await browser?.close();
  for (const bin of running) bin.child.kill('SIGTERM');
  await Promise.all(running.map((bin) => bin.exited.catch(() => {})));
  await deleteRedisKeys(app, REDIS, `*cli-dashboard-*${RUN}*`);
});

function start(args: string[]): RunningBin {
  const bin = startBin(args, { cwd: app });
  running.push(bin);
  return bin;
}

async function startDashboard(queue: string, extra: string[]): Promise<string> {
  const dashboard = start([
    'dashboard',
    '--broker',
    REDIS,
    '--queue',
    queue,
    '--listen',
    '127.0.0.1:0',
    '--poll-ms',
    '250',
    ...extra,
  ]);
  await dashboard.waitForOutput('dashboard: serving', 20_000);
  const url = /dashboard: serving (http:\/\/\S+)/.exec(dashboard.stdout())?.[1];
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  return url!;
}

/** The text of one count on the page. */
function count(page: Page, queue: string, field: string) {
  return page.locator(`#queues tr[data-queue="${queue}"] td[data-field="${field}"]`);
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!updateScreenshots) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, name), fullPage: true });
}

describe.skipIf(!haveChromium)('conveyor dashboard in headless Chromium', () => {
  it('shows counts change live, redrives dead letters that the worker then runs, and asks before a purge', async () => {
    const queue = `cli-dashboard-${RUN}`;
    const marker = join(tmpdir(), `conveyor-dashboard-fixed-${randomUUID()}`);
    const url = await startDashboard(queue, ['--allow-redrive-purge', '--results', REDIS]);
    const worker = start([
      'worker',
      '--broker',
      REDIS,
      '--results',
      REDIS,
      '--tasks',
      TASKS,
      '-Q',
      queue,
      '--events',
    ]);
    await worker.waitForOutput('ready: consuming', 20_000);

    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    // A locator waits for its element; expect.poll retries instead.
    page.setDefaultTimeout(2_000);
    let loads = 0;
    page.on('load', () => {
      loads += 1;
    });
    try {
      await page.goto(url);
      await expect.poll(() => page.locator('#live').textContent(), { timeout: 10_000 }).toBe('live');
      await expect.poll(() => count(page, queue, 'ready').textContent()).toBe('0');
      // The worker's online event or a heartbeat lists it.
      await expect
        .poll(() => page.locator('#workers td[data-field="status"]').allTextContents(), { timeout: 10_000 })
        .toContain('online');

      const transport = await transportInApp(app, 'redis', REDIS);
      await transport.connect();
      const client = new Client({ transport, defaultQueue: queue });
      let fixable: string[];
      try {
        await client.sendMany('dashboard.ok', [[1], [2], [3], [4]]);
        fixable = [
          (await client.send('dashboard.fixable', [marker])).id,
          (await client.send('dashboard.fixable', [marker])).id,
          (await client.send('dashboard.fixable', [marker])).id,
        ];
      } finally {
        await transport.close();
      }

      // Counts change on the page as the worker runs the tasks: no reload.
      await expect
        .poll(() => count(page, queue, 'deadLettered').textContent(), { timeout: 15_000 })
        .toBe('3');
      await expect
        .poll(async () => Number(await page.locator('#succeeded-per-minute').textContent()))
        .toBeGreaterThanOrEqual(4);
      await expect.poll(() => page.locator('#failed-per-minute').textContent()).toBe('3');
      for (const id of fixable) {
        await expect
          .poll(() =>
            page.locator(`#failures tr[data-failure="${id}"] td[data-field="exception"]`).textContent(),
          )
          .toContain('not fixed yet');
        // With --results, the letter shows what its task stored in the result backend.
        await expect
          .poll(
            () => page.locator(`.dlq tr[data-letter="${id}"] td[data-field="stored-result"]`).textContent(),
            { timeout: 10_000 },
          )
          .toMatch(/^FAILURE: .*not fixed yet/);
      }
      await expect(page.locator('#failures tr[data-failure]').first().textContent()).resolves.toContain(
        'dashboard.fixable',
      );
      await screenshot(page, 'dashboard.png');

      // Purge asks first: the button stays disabled until the queue's name is typed; cancel keeps all.
      const box = page.locator(`.dlq[data-queue="${queue}"]`);
      await box.locator('button[data-action="purge"]').click();
      await expect.poll(() => page.locator('#confirm-purge').isVisible()).toBe(true);
      expect(await page.locator('#purge-confirm').isDisabled()).toBe(true);
      await page.locator('#purge-input').fill('wrong');
      expect(await page.locator('#purge-confirm').isDisabled()).toBe(true);
      await screenshot(page, 'dashboard-purge-confirmation.png');
      await page.locator('#purge-cancel').click();
      await expect
        .poll(() => box.locator('[data-field="result"]').textContent())
        .toBe('purge cancelled: nothing removed');
      expect(await count(page, queue, 'deadLettered').textContent()).toBe('3');

      // Fix the bug, redrive from the page: the worker runs the three copies and nothing returns.
      writeFileSync(marker, 'fixed');
      await box.locator('button[data-action="redrive"]').click();
      await expect
        .poll(() => box.locator('[data-field="result"]').textContent(), { timeout: 15_000 })
        .toBe('moved 3, skipped 0, failed 0');
      for (const id of fixable) await worker.waitForOutput(`task dashboard.fixable[${id}] succeeded`, 15_000);
      await expect.poll(() => count(page, queue, 'deadLettered').textContent()).toBe('0');
      await expect
        .poll(async () => Number(await page.locator('#succeeded-per-minute').textContent()))
        .toBeGreaterThanOrEqual(7);

      // A purge confirmed by typing the dead-letter queue's name removes the letters.
      const doomedTransport = await transportInApp(app, 'redis', REDIS);
      await doomedTransport.connect();
      try {
        await new Client({ transport: doomedTransport, defaultQueue: queue }).send('dashboard.doomed', []);
      } finally {
        await doomedTransport.close();
      }
      await expect
        .poll(() => count(page, queue, 'deadLettered').textContent(), { timeout: 15_000 })
        .toBe('1');
      await box.locator('button[data-action="purge"]').click();
      await page.locator('#purge-input').fill(`${queue}.dlq`);
      await page.locator('#purge-confirm').click();
      await expect
        .poll(() => box.locator('[data-field="result"]').textContent(), { timeout: 15_000 })
        .toBe('purged 1, failed 0');
      await expect.poll(() => count(page, queue, 'deadLettered').textContent()).toBe('0');
      expect(loads, 'the page was never reloaded').toBe(1);
    } finally {
      await page.close();
      rmSync(marker, { force: true });
    }
  }, 60_000);

  it('read-only by default: no buttons, and the API refuses a redrive', async () => {
    const queue = `cli-dashboard-ro-${RUN}`;
    const url = await startDashboard(queue, []);
    const page = await browser!.newPage();
    page.setDefaultTimeout(2_000);
    try {
      await page.goto(url);
      await expect.poll(() => page.locator('#mode').textContent(), { timeout: 10_000 }).toBe('read-only');
      const box = page.locator(`.dlq[data-queue="${queue}"]`);
      expect(await box.locator('button[data-action="redrive"]').isHidden()).toBe(true);
      expect(await box.locator('button[data-action="purge"]').isHidden()).toBe(true);
      expect(await box.locator('[data-field="readonly"]').textContent()).toContain('--allow-redrive-purge');
      const refused = await page.evaluate(async (name) => {
        const response = await fetch('api/dead-letters/redrive', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ queue: name }),
        });
        return { status: response.status, body: (await response.json()) as { error: string } };
      }, queue);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toContain('--allow-redrive-purge');
      await screenshot(page, 'dashboard-read-only.png');
    } finally {
      await page.close();
    }
  }, 30_000);
});
