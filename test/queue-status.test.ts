/**
 * What `status` reads (issue 17): `listJobs` lists the queue's exports and predictions newest
 * first; `exportStatus` says when a job was made, started and finished, its records per second,
 * and — from the position each partition reports — its percentage and time left, during a run and
 * after it. Real redis-server, PostgreSQL, emulator and worker processes (the built CLI).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { EXIT, type CliIO } from '../src/cli/command.js';
import { main } from '../src/cli/main.js';
import { ConfigError } from '../src/core/errors.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { enqueueExport, enqueuePredictions, exportStatus, listJobs, type ExportStatus } from '../src/queue/index.js';
import { captureCli } from './helpers/cli.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { docs } from './reinfer-helpers.js';

const RECORDS = 6000;
const API_KEY = 'status-test-api-key-3310';
let emulator: Emulator;
let postgres: PostgresCluster;
let redis: RedisServer;
const workers: Array<ReturnType<typeof spawnWorker>> = [];
const dir = tempDir('queue-status-');

beforeAll(async () => {
  [emulator, postgres, redis] = await Promise.all([
    // Slow pages: an export of a few thousand records takes seconds, long enough to be seen part way.
    startEmulator({ records: RECORDS, latencyMs: 40, innerworks: { apiKeys: [API_KEY] } }),
    startPostgres(),
    startRedis(),
  ]);
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.kill('SIGKILL')));
});
afterAll(async () => {
  await Promise.allSettled([emulator?.close(), postgres?.stop(), redis?.stop()]);
});

const since = () => emulator.innerworks.timestampOf(0);
const until = () => emulator.innerworks.timestampOf(RECORDS - 1) + 1;

function spawnWorker(queue = redis.url) {
  return spawnCli(['worker', '--queue', queue, '--stalled-interval', '500', '--lock-duration', '1500', '--no-progress'], { ...emulator.env, PGPASSWORD: postgres.password });
}


describe('listJobs', () => {
  it('lists exports and predictions newest first, with their kind, state, records and when they were made', async () => {
    // A Redis of its own: the list is of everything in the queue.
    const fresh = await startRedis();
    try {
      const input = join(dir(), 'docs.jsonl');
      await writeFile(input, `${docs(300).map((d) => JSON.stringify(d)).join('\n')}\n`);
      const exported = await enqueueExport({ queue: fresh.url, startTime: since(), endTime: until(), partitions: 2, to: postgres.url, table: 'status_list_export', baseUrl: emulator.url, batchSize: 500 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const predicted = await enqueuePredictions({ queue: fresh.url, input, partitions: 3, to: postgres.url, table: 'status_list_preds', project: 'acme', dataset: 'emails', batchSize: 50 });

      const waiting = await listJobs({ queue: fresh.url });
      expect(waiting.map((job) => job.id)).toEqual([predicted.id, exported.exportId]);
      expect(waiting[0]).toMatchObject({ kind: 'predict', state: 'waiting', records: 0, partitionCount: 3, failedPartitions: 0, input, table: 'status_list_preds', percent: 0 });
      expect(waiting[1]).toMatchObject({ kind: 'export', state: 'waiting', records: 0, partitionCount: 2, startTime: since(), endTime: until(), table: 'status_list_export', percent: 0 });
      expect(waiting[0].createdAt).toBeGreaterThan(waiting[1].createdAt);
      expect(waiting[1].createdAt).toBeLessThanOrEqual(Date.now());
      // Nothing started yet: no start, rate or time left.
      for (const job of waiting) expect(job).not.toHaveProperty('startedAt');
      for (const job of waiting) expect(job).not.toHaveProperty('etaMs');
      expect(JSON.stringify(waiting)).not.toContain(postgres.password);
      expect((await listJobs({ queue: fresh.url, limit: 1 })).map((job) => job.id)).toEqual([predicted.id]);
      // The CLI: `status` without an id lists them, as a table or as JSON.
      const table = captureCli({ env: {} });
      expect(await table.run('status', '--queue', fresh.url), table.err()).toBe(EXIT.ok);
      const rows = table.out().trimEnd().split('\n');
      expect(rows[0]).toMatch(/^ID\s+KIND\s+STATE\s+RECORDS\s+DONE\s+CREATED$/);
      expect(rows.slice(1).map((row) => row.split(/\s+/).slice(0, 4))).toEqual([
        [predicted.id, 'predict', 'waiting', '0'],
        [exported.exportId, 'export', 'waiting', '0'],
      ]);
      expect(rows[1]).toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \((just now|\d+ s ago)\)$/);
      const listed = captureCli({ env: {} });
      expect(await listed.run('status', '--queue', fresh.url, '--limit', '1', '--json'), listed.err()).toBe(EXIT.ok);
      const summary = JSON.parse(listed.out());
      expect(summary).toMatchObject({ command: 'status', queue: fresh.url });
      expect(summary.jobs.map((job: { id: string }) => job.id)).toEqual([predicted.id]);
      expect(summary.jobs[0]).toMatchObject({ kind: 'predict', state: 'waiting', records: 0 });
      await expect(listJobs({ queue: fresh.url, limit: 0 })).rejects.toThrow(ConfigError);
      await expect(listJobs({ queue: fresh.url, limit: 0 })).rejects.toThrow(/limit/);

      workers.push(spawnWorker(fresh.url));
      await waitFor('both jobs to complete', async () => (await listJobs({ queue: fresh.url })).every((job) => job.state === 'completed'));
      const done = await listJobs({ queue: fresh.url });
      expect(done.map((job) => job.id)).toEqual([predicted.id, exported.exportId]);
      expect(done[0]).toMatchObject({ state: 'completed', records: 300, percent: 100, etaMs: 0 });
      expect(done[1]).toMatchObject({ state: 'completed', records: RECORDS, percent: 100, etaMs: 0 });
      for (const job of done) {
        expect(job.startedAt).toBeGreaterThanOrEqual(job.createdAt);
        expect(job.finishedAt).toBeGreaterThanOrEqual(job.startedAt!);
        expect(job.recordsPerSecond).toBeGreaterThan(0);
      }
      // Each predictions partition reports the byte position it reached: the end of its range.
      const predictions = await exportStatus({ queue: fresh.url, exportId: predicted.id });
      for (const p of predictions.partitions) expect(p).toMatchObject({ state: 'completed', percent: 100, positionByte: p.endByte });
    } finally {
      await Promise.all(workers.splice(0).map((worker) => worker.kill('SIGKILL')));
      await fresh.stop();
    }
  }, 180_000);
});

describe('exportStatus: rate, percentage and time left', () => {
  it('are present and agree with the records and times during an export, and after it', async () => {
    const { exportId } = await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 2, to: postgres.url, table: 'status_rates', baseUrl: emulator.url, batchSize: 100 });
    const queued = await exportStatus({ queue: redis.url, exportId });
    expect(queued).toMatchObject({ state: 'waiting', percent: 0, startTime: since(), endTime: until() });
    expect(queued.createdAt).toBeLessThanOrEqual(Date.now());
    workers.push(spawnWorker());

    let during: ExportStatus | undefined;
    let before = 0;
    let after = 0;
    await waitFor('the export part way', async () => {
      before = Date.now();
      const status = await exportStatus({ queue: redis.url, exportId });
      after = Date.now();
      if (status.state === 'completed') throw new Error('the export completed before it was seen part way');
      if (status.state !== 'active' || !(status.percent! > 0) || status.etaMs === undefined) return false;
      during = status;
      return true;
    });
    const s = during!;
    expect(s.startedAt).toBeGreaterThanOrEqual(s.createdAt);
    expect(s).not.toHaveProperty('finishedAt');
    expect(s.percent).toBeLessThan(100);
    // The rate is the records over the time since the first partition was taken (the status was
    // read between `before` and `after`), to one decimal.
    expect(s.recordsPerSecond!).toBeGreaterThanOrEqual(s.records / ((after - s.startedAt!) / 1000) - 0.05);
    expect(s.recordsPerSecond!).toBeLessThanOrEqual(s.records / ((before - s.startedAt!) / 1000) + 0.05);
    // Time left: the time worked on times the share left over the share done (percent is rounded down to 0.1).
    const share = s.percent! / 100;
    expect(s.etaMs!).toBeLessThanOrEqual(((after - s.startedAt!) * (1 - share)) / share + 1);
    expect(s.etaMs!).toBeGreaterThanOrEqual(((before - s.startedAt!) * (1 - share - 0.001)) / (share + 0.001) - 1);
    for (const p of s.partitions.filter((p) => p.records > 0 && p.state === 'active')) {
      expect(p.positionTime).toBeGreaterThanOrEqual(p.startTime!);
      expect(p.positionTime).toBeLessThan(p.endTime!);
      expect(p.percent).toBe(Math.floor(((p.positionTime! - p.startTime!) / (p.endTime! - p.startTime!)) * 1000) / 10);
      expect(p.startedAt).toBeGreaterThanOrEqual(s.startedAt!);
      expect(p.recordsPerSecond).toBeGreaterThan(0);
    }

    await waitFor('the export to complete', async () => (await exportStatus({ queue: redis.url, exportId })).state === 'completed');
    const done = await exportStatus({ queue: redis.url, exportId });
    expect(done).toMatchObject({ state: 'completed', records: RECORDS, percent: 100, etaMs: 0 });
    expect(done.finishedAt).toBeGreaterThanOrEqual(done.startedAt!);
    expect(done.startedAt).toBe(s.startedAt);
    expect(done.recordsPerSecond).toBe(Math.round((RECORDS / ((done.finishedAt! - done.startedAt!) / 1000)) * 10) / 10);
    for (const p of done.partitions) {
      expect(p).toMatchObject({ state: 'completed', percent: 100 });
      expect(p.finishedAt).toBeGreaterThanOrEqual(p.startedAt!);
    }
  }, 120_000);
});

describe('status --watch', () => {
  const watch = (exportId: string, extra: string[] = []) => spawnCli(['status', '--queue', redis.url, '--id', exportId, '--watch', ...extra]);

  it('follows a queued export to completed and exits 0: blocks on change in a pipe, JSON lines with --json, redrawn in place on a terminal', async () => {
    const { exportId } = await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 2, to: postgres.url, table: 'status_watch_done', baseUrl: emulator.url, batchSize: 100 });
    const text = watch(exportId);
    const json = watch(exportId, ['--json']);
    // On a terminal (a stream that says it is one), in-process.
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    let drawn = '';
    tty.on('data', (chunk) => (drawn += chunk));
    const io: CliIO = { stdin: new PassThrough(), stdout: tty, stderr: new PassThrough(), env: {}, progress: false, signal: new AbortController().signal, verbose: false };
    const onTerminal = main(['status', '--queue', redis.url, '--id', exportId, '--watch'], io);
    // Seen waiting before any worker runs.
    await waitFor('the watchers to print the waiting job', async () => /waiting/.test(text.out()) && /"state":"waiting"/.test(json.out()) && /waiting/.test(drawn));
    workers.push(spawnWorker());

    const [textCode] = await text.exited;
    expect(textCode, text.err()).toBe(EXIT.ok);
    const blocks = text.out().split(/^-- \d{4}-\d\d-\d\dT[\d:.]+Z --$/m).filter((block) => block.trim() !== '');
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    expect(blocks[0]).toMatch(/^Export exp-\w+: waiting, 0 records/m);
    expect(blocks.some((block) => /: active, [\d,]+ records/.test(block) && /\d+\.\d % done, [\d,.]+ records\/s, about .+ left/.test(block))).toBe(true);
    expect(blocks.at(-1)).toMatch(/: completed, 6,000 records/);
    expect(blocks.at(-1)).toMatch(/100\.0 % done, [\d,.]+ records\/s, took \d/);
    // Not a block a second: only when something changed (no two blocks the same but for their time).
    expect(new Set(blocks).size).toBe(blocks.length);
    expect(text.out()).not.toMatch(/\x1b/);

    const [jsonCode] = await json.exited;
    expect(jsonCode, json.err()).toBe(EXIT.ok);
    const lines = json.out().trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line).toMatchObject({ command: 'status', exportId, kind: 'export' });
    expect(lines[0]).toMatchObject({ state: 'waiting', records: 0 });
    expect(lines.at(-1)).toMatchObject({ state: 'completed', records: RECORDS, percent: 100, etaMs: 0 });
    const records = lines.map((line) => line.records);
    expect(records).toEqual([...records].sort((a, b) => a - b));

    expect(await onTerminal).toBe(EXIT.ok);
    // Redrawn in place: back to the block's first line and erased, then the new block.
    expect(drawn).toMatch(/\x1b\[\d+F\x1b\[J/);
    expect(drawn).toMatch(/Ctrl-C stops watching/);
    const last = drawn.split(/\x1b\[\d+F\x1b\[J/).at(-1)!;
    expect(last).toMatch(/^Export exp-\w+: completed, 6,000 records/);
    expect(last).not.toMatch(/Ctrl-C/);
  }, 120_000);

  it('exits 1 when a partition fails for good, saying why; Ctrl-C stops watching a job that goes on (exit 130)', async () => {
    // A table of other columns: each partition fails its one attempt.
    await postgres.psql('CREATE TABLE status_watch_failing (something_else text)');
    const failing = await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 2, to: postgres.url, table: 'status_watch_failing', baseUrl: emulator.url, attempts: 1, backoffMs: 50 });
    const watcher = watch(failing.exportId);
    workers.push(spawnWorker());
    const [code] = await watcher.exited;
    expect(code, watcher.err()).toBe(EXIT.failure);
    expect(watcher.out()).toMatch(/: failed, /);
    expect(watcher.out()).toMatch(/failed: .*other columns/);
    expect(watcher.out()).not.toContain(postgres.password);
    const failed = await exportStatus({ queue: redis.url, exportId: failing.exportId });
    expect(failed.state).toBe('failed');
    expect(failed.finishedAt).toBeGreaterThanOrEqual(failed.createdAt);
    expect(failed).not.toHaveProperty('etaMs');

    // A job no worker takes (the worker is gone): watching it is stopped with Ctrl-C.
    await Promise.all(workers.splice(0).map((worker) => worker.kill('SIGKILL')));
    const waiting = await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 1, to: postgres.url, table: 'status_watch_waiting', baseUrl: emulator.url });
    const stopped = watch(waiting.exportId);
    await waitFor('the first block', async () => /waiting/.test(stopped.out()));
    stopped.child.kill('SIGINT');
    const [stoppedCode] = await stopped.exited;
    expect(stoppedCode).toBe(EXIT.interrupted);
    expect(stopped.err()).toMatch(/stopped watching; exp-\w+ goes on \(waiting, 0 records\)/);
    expect(stopped.err()).not.toMatch(/Error|at .*\.js:\d+/);
  }, 120_000);

  it('goes on watching through a Redis restart, saying so once', async () => {
    const persistent = await startRedis({ persist: true });
    try {
      const { exportId } = await enqueueExport({ queue: persistent.url, startTime: since(), endTime: until(), partitions: 1, to: postgres.url, table: 'status_watch_restart', baseUrl: emulator.url });
      const watcher = spawnCli(['status', '--queue', persistent.url, '--id', exportId, '--watch']);
      await waitFor('the first block', async () => /waiting/.test(watcher.out()));
      await persistent.restart(2500);
      await waitFor('Redis to be back', async () => /answers again/.test(watcher.err()), 30_000);
      expect(watcher.child.exitCode).toBeNull();
      expect(watcher.err()).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ went away \(.+\); still watching, reading again every 1 s/);
      expect(watcher.err().match(/still watching/g)).toHaveLength(1);
      watcher.child.kill('SIGINT');
      expect((await watcher.exited)[0]).toBe(EXIT.interrupted);
    } finally {
      await persistent.stop();
    }
  }, 60_000);

  it('refuses --watch without an id and --limit with one', async () => {
    for (const [args, message] of [
      [['--watch'], /--watch follows one job: give its --id/],
      [['--id', 'exp-x', '--limit', '3'], /--limit is for the list/],
      [['--limit', '0'], /--limit must be an integer from 1 to 1000/],
    ] as const) {
      const cli = captureCli({ env: {} });
      expect(await cli.run('status', '--queue', redis.url, ...args)).toBe(EXIT.usage);
      expect(cli.err()).toMatch(message);
    }
  });
});
