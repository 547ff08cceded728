/**
 * What `status` reads (issue 17): `listJobs` lists the queue's exports and predictions newest
 * first; `exportStatus` says when a job was made, started and finished, its records per second,
 * and — from the position each partition reports — its percentage and time left, during a run and
 * after it. Real redis-server, PostgreSQL, emulator and worker processes (the built CLI).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { enqueueExport, enqueuePredictions, exportStatus, listJobs, type ExportStatus } from '../src/queue/index.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { tempDir } from './helpers/temp-dir.js';
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

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
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
