/**
 * A worker's Prometheus endpoint, with real servers: a redis-server with a password, PostgreSQL,
 * the emulator, and worker PROCESSES (the built CLI) started with --metrics-port. /metrics is
 * scraped over loopback during a queued export (the records counter grows), after it (jobs
 * completed, none active), and while a worker paused itself (its database password is wrong).
 * No secret may appear in what it serves. Also: the records metric of a file and a stdout export
 * (serveMetrics in this process), bad option values, a port in use, an application's own
 * MeterProvider, 404 elsewhere, and the endpoint closing with the worker.
 */
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { metrics } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { ConfigError } from '../src/core/errors.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { exportInferenceResults } from '../src/innerworks/index.js';
import { enqueueExport, exportStatus, exportWorker, serveMetrics } from '../src/queue/index.js';
import { captureCli } from './helpers/cli.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { spawnCli, type SpawnedCli } from './helpers/spawn-cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';

const RECORDS = 12_000;
const API_KEY = 'metrics-test-api-key-6620';
const REDIS_PASSWORD = 'redis-secret-pw-7731';
let emulator: Emulator;
let postgres: PostgresCluster;
let redis: RedisServer;
const workers: SpawnedCli[] = [];
const dir = tempDir('queue-metrics-');

beforeAll(async () => {
  [emulator, postgres, redis] = await Promise.all([
    // Slow pages: the export lasts long enough to be scraped in the middle.
    startEmulator({ records: RECORDS, latencyMs: 40, innerworks: { apiKeys: [API_KEY] } }),
    startPostgres(),
    startRedis({ password: REDIS_PASSWORD }),
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

function spawnWorker(env: NodeJS.ProcessEnv = {}, extra: string[] = []): SpawnedCli {
  const worker = spawnCli(['worker', '--queue', redis.url, '--stalled-interval', '500', '--lock-duration', '1500', '--no-progress', '--metrics-port', '0', ...extra], {
    INNERWORKS_API_KEY: API_KEY,
    INNERWORKS_BASE_URL: emulator.url,
    PGPASSWORD: postgres.password,
    ...env,
  });
  workers.push(worker);
  return worker;
}


/** The URL a worker process prints once it serves its metrics. */
function metricsUrlOf(worker: SpawnedCli): Promise<string> {
  return waitFor('the worker to serve its metrics', async () => {
    if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.err()}`);
    return /serving metrics at (http:\/\/\S+) /.exec(worker.err())?.[1];
  });
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return response.text();
}

/** The value of the sample `name` whose labels include `labels`, or undefined when there is none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

const RECORDS_TOTAL = 'inference_streams_records_total';
const PAGES_TOTAL = 'inference_streams_pages_total';
const postgresDestination = { inference_streams_destination: 'postgres' };

function expectNoSecret(text: string): void {
  for (const secret of [API_KEY, postgres.password, REDIS_PASSWORD, encodeURIComponent(REDIS_PASSWORD)]) expect(text).not.toContain(secret);
}

describe("a worker's /metrics", () => {
  it('grows during a queued export; after it, the jobs completed and none active; nothing secret; closed with the worker', async () => {
    const worker = spawnWorker();
    const url = await metricsUrlOf(worker);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const idle = await scrape(url);
    expect(sample(idle, 'inference_streams_worker_paused')).toBe(0);
    expect(sample(idle, RECORDS_TOTAL, postgresDestination)).toBeUndefined();

    const { exportId } = await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 4, to: postgres.url, table: 'metrics_export', baseUrl: emulator.url, batchSize: 250 });
    // First scrape: some records written, not all.
    const first = await waitFor('records in the middle of the export', async () => {
      const text = await scrape(url);
      const records = sample(text, RECORDS_TOTAL, postgresDestination) ?? 0;
      return records > 0 && records < RECORDS ? { text, records } : undefined;
    });
    expect(sample(first.text, 'inference_streams_worker_jobs_active', { inference_streams_job_kind: 'export' })).toBe(1);
    // Second scrape: more.
    const second = await waitFor('the records counter to grow', async () => {
      const records = sample(await scrape(url), RECORDS_TOTAL, postgresDestination) ?? 0;
      return records > first.records ? records : undefined;
    });
    expect(second).toBeGreaterThan(first.records);

    await waitFor('the export to complete', async () => (await exportStatus({ queue: redis.url, exportId })).state === 'completed');
    const done = await scrape(url);
    expect(sample(done, RECORDS_TOTAL, postgresDestination)).toBe(RECORDS);
    expect(sample(done, PAGES_TOTAL, postgresDestination)).toBe(RECORDS / 250);
    expect(sample(done, 'inference_streams_worker_jobs_total', { inference_streams_job_kind: 'export', inference_streams_job_outcome: 'completed' })).toBe(4);
    expect(sample(done, 'inference_streams_worker_jobs_active', { inference_streams_job_kind: 'export' })).toBe(0);
    expect(done).toMatch(/^# TYPE inference_streams_records_total counter$/m);
    expectNoSecret(done);
    expect(worker.err()).not.toContain(REDIS_PASSWORD);

    // Elsewhere: 404.
    expect((await fetch(url.replace(/\/metrics$/, '/'))).status).toBe(404);
    expect((await fetch(url.replace(/\/metrics$/, '/metrics/x'))).status).toBe(404);
    expect((await fetch(url, { method: 'POST' })).status).toBe(404);

    await worker.kill('SIGTERM');
    await expect(fetch(url)).rejects.toThrow();
  });

  it('says 1 while the worker paused itself (its database password is wrong), with its jobs handed back; the password nowhere', async () => {
    await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 4, to: postgres.url, table: 'metrics_paused', baseUrl: emulator.url, batchSize: 1000 });
    const worker = spawnWorker({ PGPASSWORD: 'a-wrong-db-password-3390' }, ['--concurrency', '4']);
    const url = await metricsUrlOf(worker);
    await waitFor('the worker to pause itself', async () => /paused, taking no new jobs/.test(worker.err()), 30_000);
    const text = await waitFor('the paused gauge', async () => {
      const scraped = await scrape(url);
      return sample(scraped, 'inference_streams_worker_paused') === 1 ? scraped : undefined;
    });
    expect(sample(text, 'inference_streams_worker_jobs_total', { inference_streams_job_kind: 'export', inference_streams_job_outcome: 'handed_back' })).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'inference_streams_worker_jobs_total', { inference_streams_job_outcome: 'failed' })).toBeUndefined();
    expectNoSecret(text);
    expect(text).not.toContain('a-wrong-db-password-3390');
  });
});

describe('--metrics-port and metricsPort', () => {
  it('refuses bad values, naming the option and the range, before connecting anywhere', async () => {
    for (const value of ['70000', '-1', 'abc', '1.5']) {
      const cli = captureCli({ env: { INNERWORKS_API_KEY: API_KEY } });
      expect(await cli.run('worker', '--queue', redis.url, `--metrics-port=${value}`)).toBe(EXIT.usage);
      expect(cli.err()).toContain(`--metrics-port must be an integer from 0 to 65535 (got "${value}")`);
    }
    const hostAlone = captureCli({ env: { INNERWORKS_API_KEY: API_KEY } });
    expect(await hostAlone.run('worker', '--queue', redis.url, '--metrics-host', '0.0.0.0')).not.toBe(EXIT.ok);
    expect(hostAlone.err()).toMatch(/--metrics-host.*needs --metrics-port|--metrics-host.*needs metricsPort/);
    for (const metricsPort of [65_536, -1, 1.5, '9464']) {
      const error = await exportWorker({ queue: redis.url, apiKey: API_KEY, metricsPort: metricsPort as number }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error).toMatchObject({ option: 'metricsPort', message: expect.stringContaining('from 0 to 65535') });
    }
  });

  it('says when the port is in use, and the worker does not start', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const cli = captureCli({ env: { INNERWORKS_API_KEY: API_KEY, INNERWORKS_BASE_URL: emulator.url } });
      expect(await cli.run('worker', '--queue', redis.url, '--metrics-port', String(port))).not.toBe(EXIT.ok);
      expect(cli.err()).toMatch(new RegExp(`--metrics-port.*is in use on 127\\.0\\.0\\.1: port ${port} is taken`));
      expect(cli.err()).not.toMatch(/waiting for jobs/);
      expect(cli.err()).not.toContain(REDIS_PASSWORD);
      // Nothing left registered: a later endpoint in this process works.
      expect(metrics.getMeterProvider().constructor.name).not.toBe('MeterProvider');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it("refuses when the application registered its own MeterProvider, saying what to do instead", async () => {
    const own = new MeterProvider();
    expect(metrics.setGlobalMeterProvider(own)).toBe(true);
    try {
      const error = await exportWorker({ queue: redis.url, apiKey: API_KEY, baseUrl: emulator.url, metricsPort: 0 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error).toMatchObject({ option: 'metricsPort', message: expect.stringMatching(/already registered a global MeterProvider.*PrometheusExporter/) });
      expect(metrics.getMeterProvider()).toBe(own);
    } finally {
      metrics.disable();
      await own.shutdown();
    }
  });

  it('an in-process worker serves until close(), then its URL refuses', async () => {
    const worker = await exportWorker({ queue: redis.url, apiKey: API_KEY, baseUrl: emulator.url, metricsPort: 0 });
    try {
      expect(worker.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(sample(await scrape(worker.metricsUrl!), 'inference_streams_worker_paused')).toBe(0);
    } finally {
      await worker.close();
    }
    await expect(fetch(worker.metricsUrl!)).rejects.toThrow();
  });
});

describe('the records metric of exports in this process', () => {
  it('counts a JSONL export and an export to stdout by destination, once a page', async () => {
    const endpoint = await serveMetrics({ port: 0 });
    try {
      await exportInferenceResults({ apiKey: API_KEY, baseUrl: emulator.url, file: join(dir(), 'out.jsonl'), batchSize: 1000, startTime: since(), endTime: until() });
      const cli = captureCli({ env: { INNERWORKS_API_KEY: API_KEY } });
      expect(await cli.run('export', '--out', '-', '--base-url', emulator.url, '--batch-size', '3000', '--since', String(since()), '--until', String(emulator.innerworks.timestampOf(5999) + 1)), cli.err()).toBe(EXIT.ok);
      const text = await scrape(endpoint.url);
      expect(sample(text, RECORDS_TOTAL, { inference_streams_destination: 'jsonl' })).toBe(RECORDS);
      expect(sample(text, PAGES_TOTAL, { inference_streams_destination: 'jsonl' })).toBe(RECORDS / 1000);
      expect(sample(text, RECORDS_TOTAL, { inference_streams_destination: 'stdout' })).toBe(6000);
      expect(sample(text, PAGES_TOTAL, { inference_streams_destination: 'stdout' })).toBe(2);
      expectNoSecret(text);
    } finally {
      await endpoint.close();
    }
  });
});
