/**
 * The cap on hand-backs, with real servers (redis-server, PostgreSQL, the emulator behind a small
 * HTTP proxy that fails chosen partitions) and workers in this process (small caps through
 * options). A job whose own settings cannot work — a database host the enqueuer mistyped, a
 * partition whose first page fails the same way every time — must end `failed` with the reason,
 * not go round the workers for ever; and it must not pause the workers that tried it.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { planPartitions } from '../src/innerworks/partition-plan.js';
import { enqueueExport, exportStatus, exportWorker, type ExportStatus, type ExportWorker, type WorkerEvent } from '../src/queue/index.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { waitFor } from './helpers/wait-for.js';

const RECORDS = 2000;
const API_KEY = 'hand-back-test-api-key-5512';
let emulator: Emulator;
let postgres: PostgresCluster;
let redis: RedisServer;
let proxy: Server;
let proxyUrl: string;
/** First-page start times the proxy answers 403 to, or resets. */
const forbidden = new Set<string>();
const reset = new Set<string>();
const running: ExportWorker[] = [];
const savedPassword = process.env.PGPASSWORD;

beforeAll(async () => {
  [emulator, postgres, redis] = await Promise.all([startEmulator({ records: RECORDS, innerworks: { apiKeys: [API_KEY] } }), startPostgres(), startRedis()]);
  // Workers in this process read the database password from their environment, as a worker process does.
  process.env.PGPASSWORD = postgres.password;
  proxy = createServer((req, res) => {
    const start = new URL(req.url ?? '/', 'http://proxy').searchParams.get('start_time') ?? '';
    if (forbidden.has(start)) {
      res.writeHead(403, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ error: { message: 'this range is not yours' } }));
    }
    if (reset.has(start)) return void req.socket.destroy();
    const upstream = request(`${emulator.url}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((worker) => worker.close()));
});
afterAll(async () => {
  if (savedPassword === undefined) delete process.env.PGPASSWORD;
  else process.env.PGPASSWORD = savedPassword;
  proxy?.closeAllConnections();
  await Promise.allSettled([new Promise((resolve) => proxy?.close(resolve)), emulator?.close(), postgres?.stop(), redis?.stop()]);
});

const since = () => emulator.innerworks.timestampOf(0);
const until = () => emulator.innerworks.timestampOf(RECORDS - 1) + 1;
const statusOf = (exportId: string): Promise<ExportStatus> => exportStatus({ queue: redis.url, exportId });


async function startWorker(events: WorkerEvent[], baseUrl: string): Promise<ExportWorker> {
  const worker = await exportWorker({ queue: redis.url, apiKey: API_KEY, baseUrl, concurrency: 2, stalledInterval: 500, lockDuration: 1500, maxHandBacks: 2, onEvent: (event) => events.push(event) });
  running.push(worker);
  return worker;
}

describe('the hand-back cap', () => {
  it('an export whose database host is wrong ends failed with the reason after the cap; the workers never pause and complete another export', async () => {
    // Nothing listens there: every worker gets ECONNREFUSED, which says nothing about the worker.
    const wrong = await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 2, to: `postgres://${postgres.user}@127.0.0.1:1/nowhere`, table: 'never_written', baseUrl: emulator.url, attempts: 2, backoffMs: 50 });
    const healthy = await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 2, to: postgres.url, table: 'results_beside_wrong_host', baseUrl: emulator.url, batchSize: 250 });
    const events: WorkerEvent[][] = [[], []];
    const workers = [await startWorker(events[0], emulator.url), await startWorker(events[1], emulator.url)];

    await waitFor('the wrong-host export to fail', async () => (await statusOf(wrong.exportId)).partitions.every((p) => p.state === 'failed'));
    const failed = await statusOf(wrong.exportId);
    expect(failed.state).toBe('failed');
    for (const partition of failed.partitions) {
      expect(partition.attemptsMade).toBe(2);
      expect(partition.failedReason).toMatch(/database is unreachable.*127\.0\.0\.1:1.*handed back 2 times already/);
      expect(partition.failedReason).not.toContain(postgres.password);
    }
    await waitFor('the healthy export to complete', async () => (await statusOf(healthy.exportId)).state === 'completed');
    expect(await postgres.psql('SELECT count(DISTINCT request_id) FROM results_beside_wrong_host')).toBe(String(RECORDS));

    const all = events.flat();
    expect(all.filter((e) => e.type === 'handed-back').length).toBeGreaterThanOrEqual(4);
    // An address the export names is not the worker's: no worker paused itself over it.
    expect(all.filter((e) => e.type === 'paused')).toEqual([]);
    expect(workers.map((w) => w.status().state)).toEqual(['running', 'running']);
  });

  it('a partition whose first page is refused (403) or reset every time fails with the reason, while the API answers the worker', async () => {
    const plan = planPartitions({ startTime: since(), endTime: until(), partitions: 4 });
    forbidden.add(String(plan[0].startTime));
    reset.add(String(plan[1].startTime));
    try {
      const { exportId } = await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 4, to: postgres.url, table: 'results_failing_pages', attempts: 1, backoffMs: 50 });
      const events: WorkerEvent[] = [];
      // The proxy is the worker's own API: a failure there would pause it, were it not the job's.
      const worker = await startWorker(events, proxyUrl);
      await waitFor('every partition to end', async () => (await statusOf(exportId)).partitions.every((p) => p.state === 'failed' || p.state === 'completed'), 90_000);
      const status = await statusOf(exportId);
      expect(status.partitions.map((p) => p.state)).toEqual(['failed', 'failed', 'completed', 'completed']);
      expect(status.partitions[0].failedReason).toMatch(/refused this worker's key \(HTTP 403\).*answered a check right after/);
      expect(status.partitions[1].failedReason).toMatch(/unreachable.*answered a check right after/);
      expect(status.partitions.map((p) => p.attemptsMade)).toEqual([1, 1, 1, 1]);
      expect(events.filter((e) => e.type === 'handed-back' || e.type === 'paused')).toEqual([]);
      expect(worker.status().state).toBe('running');
    } finally {
      forbidden.clear();
      reset.clear();
    }
  }, 120_000);
});
