/**
 * The live status page (`serveStatus`, `status --serve`) in a REAL headless Chromium: Debian's
 * /usr/bin/chromium driven by playwright-core. Real Redis, PostgreSQL and emulator; a queued
 * export that the page follows from waiting to completed without a reload, and a failed
 * partition whose reason (HTML from a hostile column name) appears as text. The screenshots go
 * to test-artifacts/ (not committed).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { enqueueExport, exportWorker, serveStatus, type ExportWorker, type StatusServer } from '../src/queue/index.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { startRedis, type RedisServer } from './helpers/redis.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';
const RECORDS = 6000;
const API_KEY = 'status-page-test-key-3317';

// Skipped only on a developer's machine without the browser; in CI (.ci/run installs it) a
// missing browser fails the launch below instead of hiding the test.
const skip = !existsSync(CHROMIUM) && !process.env.CI;
if (skip) console.warn(`status-page.test.ts: SKIPPED: ${CHROMIUM} is absent (apt-get install -y chromium to run these browser tests)`);

describe.skipIf(skip)('the status page in a real browser', () => {
  let emulator: Emulator;
  let postgres: PostgresCluster;
  let redis: RedisServer;
  let browser: Browser;
  const closing: Array<{ close(): Promise<void> }> = [];
  const savedPassword = process.env.PGPASSWORD;

  beforeAll(async () => {
    [emulator, postgres, redis, browser] = await Promise.all([
      // Slow pages: a partition takes long enough for the page to see it active.
      startEmulator({ records: RECORDS, latencyMs: 200, innerworks: { apiKeys: [API_KEY] } }),
      startPostgres(),
      // Persistent: the outage test restarts it, and the jobs must still be there after.
      startRedis({ persist: true }),
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
    ]);
    await mkdir(ARTIFACTS, { recursive: true });
    // Workers in this process read the database password from their environment, as a worker process does.
    process.env.PGPASSWORD = postgres.password;
  });
  afterEach(async () => {
    await Promise.allSettled(closing.splice(0).map((item) => item.close()));
  });
  afterAll(async () => {
    if (savedPassword === undefined) delete process.env.PGPASSWORD;
    else process.env.PGPASSWORD = savedPassword;
    await Promise.allSettled([browser?.close(), emulator?.close(), postgres?.stop(), redis?.stop()]);
  });

  const enqueue = (table: string, partitions: number) =>
    enqueueExport({ queue: redis.url, startTime: emulator.innerworks.timestampOf(0), endTime: emulator.innerworks.timestampOf(RECORDS - 1) + 1, partitions, to: postgres.url, table, baseUrl: emulator.url, batchSize: 250, attempts: 2, backoffMs: 50 });

  async function startWorker(): Promise<ExportWorker> {
    const worker = await exportWorker({ queue: redis.url, apiKey: API_KEY, baseUrl: emulator.url, concurrency: 2 });
    closing.push(worker);
    return worker;
  }

  async function openPage(exportId?: string, redisTimeoutMs?: number): Promise<{ server: StatusServer; page: Page; loads: () => number }> {
    const server = await serveStatus({ queue: redis.url, exportId, redisTimeoutMs });
    closing.push(server);
    // Low: a full-page screenshot is as tall as the content, no taller.
    const context = await browser.newContext({ viewport: { width: 960, height: 300 } });
    closing.push(context);
    const page = await context.newPage();
    let loads = 0;
    page.on('load', () => loads++);
    await page.goto(server.url);
    return { server, page, loads: () => loads };
  }

  /** The job's state as the page shows it: the word next to its icon. */
  const shownState = (page: Page) => page.locator('.job .job-facts .state').first().textContent();

  it('follows a queued export from waiting to completed without a reload', async () => {
    const { exportId } = await enqueue('page_results', 3);
    const { page, loads } = await openPage(exportId);
    // Waiting: no worker yet.
    await page.locator('.job[data-state="waiting"]').waitFor({ timeout: 30_000 });
    expect(await shownState(page)).toBe('\u25F7 waiting');
    expect(await page.locator('.job .job-id').textContent()).toBe(exportId);
    expect(await page.locator('.partition').count()).toBe(3);
    expect(await page.locator('#workers-summary').textContent()).toMatch(/None/);
    // A mark that a reload would wipe.
    await page.evaluate('window.stillTheSamePage = true');

    await startWorker();
    // The page sees the worker and the export move, by itself.
    await page.locator('#workers-summary', { hasText: /^1 worker seen recently/ }).waitFor({ timeout: 60_000 });
    const seen = new Set<string>();
    let screenshotTaken = false;
    const deadline = Date.now() + 180_000;
    for (;;) {
      const state = await page.locator('.job').first().getAttribute('data-state');
      seen.add(String(state));
      if (state === 'active' && !screenshotTaken && (await page.locator('.partition[data-state="completed"]').count()) > 0) {
        // Mid-run, with partitions in every state: the picture for the README.
        await page.screenshot({ path: `${ARTIFACTS}/status-page-active.png`, fullPage: true });
        screenshotTaken = true;
      }
      if (state === 'completed') break;
      if (state === 'failed') throw new Error(`the export failed: ${await page.locator('.reason').allTextContents()}`);
      if (Date.now() > deadline) throw new Error(`the page did not reach completed; it showed ${[...seen].join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(seen.has('active')).toBe(true);
    expect(await shownState(page)).toBe('\u2714 completed');
    expect(await page.locator('.job .job-facts').textContent()).toContain(`${RECORDS.toLocaleString('en-US')} records`);
    expect(await page.locator('.job h3').textContent()).toBe('Partitions: 3 of 3 completed');
    expect(await page.title()).toContain('completed');
    // The same document, never reloaded.
    expect(loads()).toBe(1);
    expect(await page.evaluate('window.stillTheSamePage')).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/status-page.png`, fullPage: true });
  }, 300_000);

  it("shows a failed partition's reason as text, HTML in it included", async () => {
    // A table whose column name is HTML: the workers' failure reason quotes it.
    const hostile = '<img src=x onerror="window.injected=1">';
    await postgres.psql(`CREATE TABLE page_failing ("${hostile.replace(/"/g, '""')}" text)`);
    const { exportId } = await enqueue('page_failing', 2);
    const { page } = await openPage(exportId);
    await startWorker();
    await page.locator('.job[data-state="failed"]').waitFor({ timeout: 120_000 });
    await page.locator('.partition[data-state="failed"] .reason').nth(1).waitFor({ timeout: 60_000 });
    expect(await shownState(page)).toBe('\u2716 failed');
    const reason = await page.locator('.partition .reason').first().textContent();
    expect(reason).toMatch(/^Failed: .*other columns/);
    expect(reason).toContain(hostile);
    expect(await page.locator('.partition').first().textContent()).toContain('2 attempts');
    // Shown, not interpreted: no element made from it, no script run.
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate('window.injected')).toBeUndefined();
    await page.screenshot({ path: `${ARTIFACTS}/status-page-failed.png`, fullPage: true });
  }, 300_000);

  it("without an id lists the queue's jobs newest first, each with a page of its own", async () => {
    // The two jobs of the tests above: completed, then failed (newest).
    const { page } = await openPage();
    await page.locator('.job').nth(1).waitFor({ timeout: 30_000 });
    const jobs = page.locator('.job');
    expect(await jobs.evaluateAll((sections) => sections.map((section) => section.getAttribute('data-state')))).toEqual(['failed', 'completed']);
    expect(await jobs.nth(0).textContent()).toMatch(/2 partitions, 2 failed for good/);
    expect(await jobs.nth(1).textContent()).toContain(`${RECORDS.toLocaleString('en-US')} records`);
    expect(await jobs.nth(1).textContent()).toMatch(/100\.0 %/);
    await page.screenshot({ path: `${ARTIFACTS}/status-page-list.png`, fullPage: true });
    // A job's own page, by its link; and back.
    const completedId = await jobs.nth(1).getAttribute('data-job-id');
    await jobs.nth(1).locator('a.job-link').click();
    await page.locator('.partition').nth(2).waitFor({ timeout: 30_000 });
    expect(new URL(page.url()).searchParams.get('id')).toBe(completedId);
    expect(await page.locator('.job').count()).toBe(1);
    expect(await page.locator('.job h3').textContent()).toBe('Partitions: 3 of 3 completed');
    await page.locator('a.back').click();
    await page.locator('.job').nth(1).waitFor({ timeout: 30_000 });
    expect(new URL(page.url()).search).toBe('');
  }, 120_000);

  it('says when it cannot read the status, keeps the last read on screen, and recovers by itself', async () => {
    const { exportId } = await enqueue('page_outage', 2);
    // A short wait for Redis: the outage shows within a poll or two.
    const { page, loads } = await openPage(exportId, 500);
    await page.locator('.job[data-state="waiting"]').waitFor({ timeout: 30_000 });
    const restarting = redis.restart(5000);
    const error = page.locator('#error');
    await error.waitFor({ state: 'visible', timeout: 30_000 });
    expect(await error.textContent()).toMatch(/^Could not read the status since .*Redis.*Trying again every second/);
    expect(await page.locator('.job .job-id').textContent()).toBe(exportId);
    await restarting;
    await error.waitFor({ state: 'hidden', timeout: 60_000 });
    expect(await page.locator('.job .job-id').textContent()).toBe(exportId);
    expect(loads()).toBe(1);
  }, 120_000);
});
