/**
 * Scale-out on BullMQ with real servers: a redis-server and a PostgreSQL cluster started here,
 * the emulator with faults, and worker PROCESSES (the built CLI) — SIGKILLed mid-partition,
 * stopped with SIGTERM, starting with a wrong key — while `status` watches. The table must end
 * with every record exactly once, and no credential may reach Redis.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { ConnectionError, redact } from '../src/core/errors.js';
import { checkRedisUrl, withoutPassword } from '../src/queue/bullmq.js';
import { enqueueExport, exportStatus, exportWorker, listJobs, type ExportStatus } from '../src/queue/index.js';
import { captureCli } from './helpers/cli.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { waitFor } from './helpers/wait-for.js';

const RECORDS = 12_000;
const API_KEY = 'queue-test-api-key-8841';
let emulator: Emulator;
let postgres: PostgresCluster;
let redis: RedisServer;
const workers: Array<ReturnType<typeof spawnWorker>> = [];

beforeAll(async () => {
  [emulator, postgres, redis] = await Promise.all([
    // Slow pages and 10 % faults: partitions take long enough to be killed in the middle.
    startEmulator({ records: RECORDS, latencyMs: 40, innerworks: { apiKeys: [API_KEY] }, faults: { rate: 0.1, seed: 3, kinds: ['500', '503', 'reset', 'truncate'] } }),
    startPostgres(),
    startRedis(),
  ]);
});
// Each test starts with no worker: one left running would take the next test's jobs.
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.kill('SIGKILL')));
});
afterAll(async () => {
  await Promise.allSettled([emulator?.close(), postgres?.stop(), redis?.stop()]);
});

const since = () => emulator.innerworks.timestampOf(0);
const until = () => emulator.innerworks.timestampOf(RECORDS - 1) + 1;
/** The database URL as an enqueuer gives it: with the password, which must not reach Redis. */
const databaseUrl = () => postgres.url;

function spawnWorker(env: NodeJS.ProcessEnv = {}, queue = redis.url, extra: string[] = []) {
  return spawnCli(['worker', '--queue', queue, '--stalled-interval', '500', '--lock-duration', '1500', '--no-progress', ...extra], {
    INNERWORKS_API_KEY: API_KEY,
    INNERWORKS_BASE_URL: emulator.url,
    PGPASSWORD: postgres.password,
    ...env,
  });
}

async function enqueueCli(table: string, extra: string[] = []): Promise<{ exportId: string; added: boolean; retried: number }> {
  const cli = captureCli({ env: {} });
  const args = ['export', '--queue', redis.url, '--since', String(since()), '--until', String(until()), '--partitions', '4', '--batch-size', '250', '--to', databaseUrl(), '--table', table, '--base-url', emulator.url, '--backoff-ms', '100', '--json', ...extra];
  expect(await cli.run(...args), cli.err()).toBe(EXIT.ok);
  expect(cli.err() + cli.out()).not.toContain(postgres.password);
  return JSON.parse(cli.out());
}

async function statusOf(exportId: string): Promise<ExportStatus> {
  return exportStatus({ queue: redis.url, exportId });
}


async function tableCounts(table: string): Promise<{ rows: number; distinct: number }> {
  const [rows, distinct] = (await postgres.psql(`SELECT count(*), count(DISTINCT request_id) FROM ${table}`)).split('|').map(Number);
  return { rows, distinct };
}

/** Every value stored in Redis, as text (hashes, lists, sets, sorted sets, streams and strings). */
async function everythingInRedis(): Promise<string> {
  const client = new Redis(redis.url);
  try {
    const keys = await client.keys('*');
    const values: unknown[] = [];
    for (const key of keys) {
      const type = await client.type(key);
      if (type === 'string') values.push(await client.get(key));
      else if (type === 'hash') values.push(await client.hgetall(key));
      else if (type === 'list') values.push(await client.lrange(key, '0', '-1'));
      else if (type === 'set') values.push(await client.smembers(key));
      else if (type === 'zset') values.push(await client.zrange(key, '0', '-1'));
      else if (type === 'stream') values.push(await client.xrange(key, '-', '+'));
    }
    return `${keys.join('\n')}\n${JSON.stringify(values)}`;
  } finally {
    client.disconnect();
  }
}

describe('a queued export on worker processes', () => {
  it('survives SIGKILLed workers: every record exactly once, status completed, no credential in Redis', async () => {
    const first = await enqueueCli('results_killed');
    expect(first).toMatchObject({ command: 'export', added: true, partitions: 4 });
    // Enqueueing the same export again adds nothing and prints the same id.
    const again = await enqueueCli('results_killed');
    expect(again).toMatchObject({ exportId: first.exportId, added: false, retried: 0 });

    workers.push(spawnWorker(), spawnWorker());
    let kills = 0;
    while (kills < 3) {
      // Kill a worker that is inside a partition with pages committed, then replace it.
      await waitFor('a partition with committed pages', async () => (await statusOf(first.exportId)).partitions.some((p) => p.state === 'active' && p.records > 0));
      const status = await statusOf(first.exportId);
      if (status.state === 'completed') break;
      const victim = workers.find((worker) => worker.child.exitCode === null && /started/.test(worker.err()));
      if (!victim) continue;
      await victim.kill('SIGKILL');
      workers.splice(workers.indexOf(victim), 1);
      kills++;
      workers.push(spawnWorker());
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 700));
    }
    expect(kills).toBe(3);
    await waitFor('the export to complete', async () => (await statusOf(first.exportId)).state === 'completed');

    expect(await tableCounts('results_killed')).toEqual({ rows: RECORDS, distinct: RECORDS });
    const status = captureCli({ env: {} });
    expect(await status.run('status', '--queue', redis.url, '--export', first.exportId, '--json')).toBe(EXIT.ok);
    const reported = JSON.parse(status.out());
    expect(reported).toMatchObject({ command: 'status', exportId: first.exportId, state: 'completed', records: RECORDS });
    expect(reported.partitions).toHaveLength(4);
    const stored = await everythingInRedis();
    expect(stored).toContain(first.exportId);
    expect(stored).not.toContain(API_KEY);
    expect(stored).not.toContain(postgres.password);
  });

  it('SIGTERM: a worker finishes the page in hand, hands its job back and exits 143 within seconds', async () => {
    const { exportId } = await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 2, to: databaseUrl(), table: 'results_sigterm', baseUrl: emulator.url, batchSize: 100 });
    const worker = spawnWorker();
    workers.push(worker);
    await waitFor('committed pages', async () => /started/.test(worker.err()) && (await statusOf(exportId)).records > 0);
    // It says at startup which queue and which API it serves.
    expect(worker.err()).toContain(`serving queue ${redis.url}`);
    expect(worker.err()).toContain(`Innerworks API ${emulator.url}`);
    expect(worker.err()).not.toContain(API_KEY);
    const stoppedAt = Date.now();
    worker.child.kill('SIGTERM');
    const [code] = await worker.exited;
    expect(code).toBe(EXIT.terminated);
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    expect(worker.err()).toContain('handed back to the queue');
    // Handed back, not waiting for its lock to expire: the next worker takes it over at once.
    expect((await statusOf(exportId)).partitions.some((p) => p.state === 'active')).toBe(false);
    workers.push(spawnWorker());
    await waitFor('the export to complete', async () => (await statusOf(exportId)).state === 'completed');
    expect(await tableCounts('results_sigterm')).toEqual({ rows: RECORDS, distinct: RECORDS });
  });

  it('a partition failing for good fails its job with the reason; enqueueing again resumes only the failed ones', async () => {
    // A table of other columns: a failure of the job (not of a worker), so it uses the attempts.
    await postgres.psql('CREATE TABLE results_failing (something_else text)');
    const { exportId } = await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 3, to: databaseUrl(), table: 'results_failing', baseUrl: emulator.url, batchSize: 1000, attempts: 2, backoffMs: 50 });
    const worker = spawnWorker();
    workers.push(worker);
    await waitFor('every partition to fail', async () => (await statusOf(exportId)).partitions.every((p) => p.state === 'failed'));
    const failed = await statusOf(exportId);
    expect(failed.state).toBe('failed');
    expect(failed.partitions[0].failedReason).toMatch(/other columns/);
    expect(failed.partitions.map((p) => p.attemptsMade)).toEqual([2, 2, 2]);
    expect(failed.partitions[0].failedReason).not.toContain(postgres.password);

    const cli = captureCli({ env: {} });
    expect(await cli.run('status', '--queue', redis.url, '--export', exportId)).toBe(EXIT.ok);
    expect(cli.out()).toMatch(/failed/);

    await postgres.psql('DROP TABLE results_failing');
    const again = await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 3, to: databaseUrl(), table: 'results_failing', baseUrl: emulator.url, batchSize: 1000, attempts: 2, backoffMs: 50 });
    expect(again).toMatchObject({ exportId, added: false, retried: 3 });
    await waitFor('the export to complete', async () => (await statusOf(exportId)).state === 'completed');
    expect(await tableCounts('results_failing')).toEqual({ rows: RECORDS, distinct: RECORDS });
  });

  it('refuses single-machine destinations and a missing --until before touching Redis', async () => {
    for (const [args, message] of [
      [['--to', 'duckdb:x.duckdb', '--table', 't', '--until', String(until())], /postgres/],
      [['--out', 'x.jsonl', '--table', 't', '--until', String(until())], /--out cannot be used with --queue/],
      [['--to', databaseUrl(), '--table', 't'], /--until/],
    ] as const) {
      const cli = captureCli({ env: {} });
      expect(await cli.run('export', '--queue', 'redis://127.0.0.1:1', '--since', String(since()), ...args)).toBe(EXIT.usage);
      expect(cli.err()).toMatch(message);
      expect(cli.err()).not.toContain(postgres.password);
    }
  });
});

describe("a worker's own failures", () => {
  it('a worker whose API does not answer or refuses its key refuses to start, naming the URL, never the key', async () => {
    const cases = [
      { env: { INNERWORKS_API_KEY: 'a-wrong-key-1234' }, url: emulator.url, message: /INNERWORKS_API_KEY.*refused by the Innerworks API.*HTTP 401/ },
      { env: { INNERWORKS_BASE_URL: 'http://127.0.0.1:1' }, url: 'http://127.0.0.1:1', message: /did not answer.*ECONNREFUSED/ },
    ];
    for (const { env, url, message } of cases) {
      const worker = spawnWorker(env);
      workers.push(worker);
      const [code] = await worker.exited;
      expect(code, worker.err()).not.toBe(0);
      expect(worker.err()).toMatch(message);
      expect(worker.err()).toContain(url);
      expect(worker.err()).toMatch(/did not start/);
      expect(worker.err()).not.toContain('a-wrong-key-1234');
      expect(worker.err()).not.toMatch(/waiting for jobs/);
    }
  });

  it('a worker that cannot log in to the database hands its jobs back without using their attempts, pauses itself, says why in status; a healthy worker completes the export', async () => {
    const { exportId } = await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 4, to: databaseUrl(), table: 'results_misconfigured', baseUrl: emulator.url, batchSize: 1000, attempts: 2, backoffMs: 50 });
    const wrongPassword = spawnWorker({ PGPASSWORD: 'a-wrong-db-password-5521' }, redis.url, ['--concurrency', '4']);
    workers.push(wrongPassword);
    await waitFor('the misconfigured worker to pause itself', async () => /paused, taking no new jobs/.test(wrongPassword.err()), 30_000);
    expect(wrongPassword.err()).toMatch(/handed back to the queue, no attempt used/);
    expect(wrongPassword.err()).toMatch(/password authentication failed|28P01/);
    // Every job is waiting again, none used an attempt; status says which worker paused and why.
    await waitFor('the jobs to be handed back', async () => (await statusOf(exportId)).partitions.every((p) => p.state === 'waiting'));
    const paused = await statusOf(exportId);
    expect(paused.partitions.map((p) => p.attemptsMade)).toEqual([0, 0, 0, 0]);
    // (Workers SIGKILLed by earlier tests may still be listed until their records expire.)
    const record = paused.workers.find((w) => w.pid === wrongPassword.child.pid);
    expect(record).toMatchObject({ state: 'paused', concurrency: 4, baseUrl: emulator.url });
    expect(record!.pausedReason).toMatch(/database.*postgres:\/\/tester@127\.0\.0\.1/);
    const text = captureCli({ env: {} });
    expect(await text.run('status', '--queue', redis.url, '--export', exportId)).toBe(EXIT.ok);
    expect(text.out()).toMatch(/Workers: \d+ \(\d+ running, [1-9]\d* paused by themselves\)/);
    expect(text.out()).toMatch(/paused since .*: the database is unreachable from this worker or refused its login/);
    for (const output of [text.out(), wrongPassword.err(), JSON.stringify(paused), await everythingInRedis()]) {
      expect(output).not.toContain('a-wrong-db-password-5521');
      expect(output).not.toContain(API_KEY);
    }

    workers.push(spawnWorker({}, redis.url, ['--concurrency', '4']));
    await waitFor('the export to complete', async () => (await statusOf(exportId)).state === 'completed');
    const done = await statusOf(exportId);
    // One attempt each: the one that completed it (BullMQ counts a finished attempt either way).
    expect(done.partitions.map((p) => p.attemptsMade)).toEqual([1, 1, 1, 1]);
    expect(await tableCounts('results_misconfigured')).toEqual({ rows: RECORDS, distinct: RECORDS });
  });

  it('a worker process fails an export whose database host is wrong after --max-hand-backs, without pausing; a bad value is refused', async () => {
    const { exportId } = await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 2, to: 'postgres://tester@127.0.0.1:1/nowhere', table: 'never_written', baseUrl: emulator.url, attempts: 1, backoffMs: 50 });
    const worker = spawnWorker({}, redis.url, ['--concurrency', '2', '--max-hand-backs', '1']);
    workers.push(worker);
    await waitFor('the export to fail', async () => (await statusOf(exportId)).state === 'failed', 60_000);
    const failed = await statusOf(exportId);
    expect(failed.partitions.map((p) => p.failedReason)).toEqual([expect.stringMatching(/127\.0\.0\.1:1.*handed back 1 time already/), expect.stringMatching(/handed back 1 time already/)]);
    expect(worker.err()).toMatch(/handed back to the queue, no attempt used \(1 of at most 1\)/);
    expect(worker.err()).not.toMatch(/paused/);
    expect(failed.workers.find((w) => w.pid === worker.child.pid)?.state).toBe('running');

    const bad = spawnWorker({}, redis.url, ['--max-hand-backs', '1001']);
    workers.push(bad);
    const [code] = await bad.exited;
    expect(code).toBe(EXIT.usage);
    expect(bad.err()).toMatch(/--max-hand-backs/);
  });

  it('PostgreSQL stopped for 30 s mid-export: the workers wait it out without using attempts and the export completes exactly once', async () => {
    const { exportId } = await enqueueExport({ queue: redis.url, startTime: since(), endTime: until(), partitions: 4, to: databaseUrl(), table: 'results_pg_outage', baseUrl: emulator.url, batchSize: 250, attempts: 3, backoffMs: 50 });
    const running = [spawnWorker({}, redis.url, ['--concurrency', '2']), spawnWorker({}, redis.url, ['--concurrency', '2'])];
    workers.push(...running);
    await waitFor('committed pages', async () => (await statusOf(exportId)).records > 0);
    expect((await statusOf(exportId)).state).toBe('active');
    const outage = postgres.restart(30_000);
    // The database is the export's (its host came from the enqueuer): the jobs are handed back,
    // counted toward their cap, and no worker pauses itself over it.
    await waitFor('jobs to be handed back', async () => running.some((worker) => /handed back to the queue, no attempt used \(2 of at most 10\): the database/.test(worker.err())), 25_000);
    const during = await statusOf(exportId);
    expect(during.workers.filter((w) => running.some((worker) => worker.child.pid === w.pid)).map((w) => w.state)).toEqual(['running', 'running']);
    expect(JSON.stringify(during.workers)).not.toContain(postgres.password);
    await outage;
    await waitFor('the export to complete', async () => (await statusOf(exportId)).state === 'completed', 120_000);
    const done = await statusOf(exportId);
    // One attempt each: the one that completed it (BullMQ counts a finished attempt either way).
    expect(done.partitions.map((p) => p.attemptsMade)).toEqual([1, 1, 1, 1]);
    const ours = done.workers.filter((w) => running.some((worker) => worker.child.pid === w.pid));
    expect(ours.map((w) => w.state)).toEqual(['running', 'running']);
    expect(await tableCounts('results_pg_outage')).toEqual({ rows: RECORDS, distinct: RECORDS });
    const said = running.map((w) => w.err()).join('');
    expect(said).not.toMatch(/paused, taking no new jobs/);
    expect(said).not.toMatch(/could not renew lock/);
    expect(postgres.password.length).toBeGreaterThan(0);
    expect(said).not.toContain(postgres.password);
  }, 180_000);
});

describe('what an export puts in Redis', () => {
  const enqueue = (extra: { to?: string; keepRecord?: boolean } = {}) =>
    enqueueExport({ queue: redis.url, startTime: 0, endTime: 1000, partitions: 2, to: databaseUrl(), table: 'results_job_data', ...extra });

  it('keeps sslmode and connect_timeout of --to for the workers (never the password); they are part of the export id', async () => {
    const plain = await enqueue();
    const { exportId } = await enqueue({ to: `${databaseUrl()}?sslmode=verify-full&connect_timeout=7` });
    expect(exportId).not.toBe(plain.exportId);
    const client = new Redis(redis.url);
    try {
      const data = JSON.parse((await client.hget(`inference-streams:export-partitions:${exportId}-p0`, 'data'))!);
      const to = new URL(data.target.to);
      expect(to.searchParams.get('sslmode')).toBe('verify-full');
      expect(to.searchParams.get('connect_timeout')).toBe('7');
      expect(to.password).toBe('');
      expect(data.target.to).not.toContain(postgres.password);
    } finally {
      client.disconnect();
    }
  });
  it('enqueueing with another keepRecord is another export', async () => {
    const plain = await enqueue();
    const kept = await enqueue({ keepRecord: true });
    expect(kept).toMatchObject({ added: true });
    expect(kept.exportId).not.toBe(plain.exportId);
  });
});

describe('the Redis password', () => {
  it('is redacted everywhere once seen, in the URL or as ?password=, and never shown with the URL', () => {
    checkRedisUrl('redis://:userinfo-secret-771@127.0.0.1:6379');
    checkRedisUrl('redis://127.0.0.1:6379/0?password=query-secret-772');
    expect(redact('AUTH userinfo-secret-771 failed; AUTH query-secret-772 failed')).not.toMatch(/secret-77/);
    expect(withoutPassword('redis://127.0.0.1:6379/0?db=1&password=query-secret-773')).not.toContain('query-secret-773');
    expect(withoutPassword('redis://:userinfo-secret-774@127.0.0.1:6379')).not.toContain('userinfo-secret-774');
    // A raw / or @ in the password, or a / in the user name, hides the whole userinfo tail.
    expect(withoutPassword('redis://:pw/userinfo-secret-775@127.0.0.1:6379')).toBe('redis://:…@127.0.0.1:6379');
    expect(withoutPassword('redis://:pw@userinfo-secret-776@127.0.0.1:6379')).toBe('redis://:…@127.0.0.1:6379');
    expect(withoutPassword('redis://us/er:userinfo-secret-777@127.0.0.1:6379')).toBe('redis://…@127.0.0.1:6379');
    expect(withoutPassword('redis://127.0.0.1:6379/0')).toBe('redis://127.0.0.1:6379/0');
  });
});

describe('an unreachable Redis', () => {
  /** Nothing listens there: connections are refused. */
  const queue = 'redis://:unreachable-secret-881@127.0.0.1:1';
  // A server that accepts connections and never answers: a Redis that hangs.
  const silent = createServer(() => undefined);
  let silentQueue = '';
  beforeAll(async () => {
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    silentQueue = `redis://:unreachable-secret-881@127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    silent.close();
  });

  it('fails enqueueExport, exportStatus and exportWorker within redisTimeoutMs when Redis does not answer, naming the URL without its password', async () => {
    const attempts = [
      enqueueExport({ queue: silentQueue, startTime: 0, endTime: 1000, to: 'postgres://nobody@127.0.0.1:1/none', table: 't', redisTimeoutMs: 300 }),
      exportStatus({ queue: silentQueue, exportId: 'exp-x', redisTimeoutMs: 300 }),
      exportWorker({ queue: silentQueue, apiKey: 'unused-key-1234', redisTimeoutMs: 300 }),
    ];
    for (const attempt of attempts) {
      const error = await attempt.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(/127\.0\.0\.1:\d+.*did not answer within 0\.3 s/);
      expect((error as Error).message).not.toContain('unreachable-secret-881');
    }
  });

  it('fails at once when the connection is refused (ECONNREFUSED), not after redisTimeoutMs: enqueue, status, list and worker', async () => {
    // A long timeout: a refused connection must not wait for it. Only "well under" is asserted.
    const redisTimeoutMs = 60_000;
    const started = Date.now();
    const attempts = [
      enqueueExport({ queue, startTime: 0, endTime: 1000, to: 'postgres://nobody@127.0.0.1:1/none', table: 't', redisTimeoutMs }),
      exportStatus({ queue, exportId: 'exp-x', redisTimeoutMs }),
      listJobs({ queue, redisTimeoutMs }),
      exportWorker({ queue, apiKey: 'unused-key-1234', redisTimeoutMs }),
    ];
    for (const attempt of attempts) {
      const error = await attempt.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(/redis:\/\/:…@127\.0\.0\.1:1.*refused the connection \(ECONNREFUSED\)/);
      expect((error as Error).message).not.toContain('unreachable-secret-881');
    }
    expect(Date.now() - started).toBeLessThan(redisTimeoutMs / 2);
    // The CLI too: one line naming the URL (without the password), at once.
    const cli = captureCli({ env: {} });
    expect(await cli.run('status', '--queue', queue, '--id', 'exp-x')).not.toBe(EXIT.ok);
    expect(cli.err()).toMatch(/127\.0\.0\.1:1.*refused the connection/);
    expect(cli.err()).not.toContain('unreachable-secret-881');
  });

  it('a worker process stuck reaching Redis stops on SIGTERM', async () => {
    const worker = spawnWorker({}, silentQueue);
    workers.push(worker);
    // Well inside the 10 s the worker waits for Redis by default, after its signal handlers are set
    // (it says what it checks once they are).
    await waitFor('the worker to start checking', async () => /starting: checking Redis at redis:\/\/:…@127\.0\.0\.1:\d+ /.test(worker.err()), 20_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    worker.child.kill('SIGTERM');
    const [code] = await worker.exited;
    expect(code).toBe(EXIT.terminated);
    expect(worker.err()).toContain('stopped before it started');
    expect(worker.err()).not.toContain('unreachable-secret-881');
  });
});

describe('the library lets go of Redis', () => {
  it('a script that enqueues, reads the status and closes a worker exits on its own', async () => {
    const script = `
      const { enqueueExport, exportStatus, exportWorker } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
      const queue = ${JSON.stringify(redis.url)};
      const { exportId } = await enqueueExport({ queue, startTime: 0, endTime: 1000, partitions: 2, to: 'postgres://nobody@127.0.0.1:1/none', table: 'never_written' });
      await exportStatus({ queue, exportId });
      const worker = await exportWorker({ queue, apiKey: ${JSON.stringify(API_KEY)}, baseUrl: ${JSON.stringify(emulator.url)} });
      await worker.close();
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (chunk) => (err += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    clearTimeout(timer);
    // Killed by the timer means an open connection kept the process alive.
    expect(signal, err).toBeNull();
    expect(code, err).toBe(0);
  });
});

describe('Redis restarted mid-run', () => {
  it('workers reconnect and the export still completes exactly once', async () => {
    const persistent = await startRedis({ persist: true });
    try {
      const { exportId } = await enqueueExport({ queue: persistent.url, startTime: since(), endTime: until(), partitions: 3, to: databaseUrl(), table: 'results_restart', baseUrl: emulator.url, batchSize: 200 });
      const running = [spawnWorker({}, persistent.url), spawnWorker({}, persistent.url)];
      workers.push(...running);
      const status = () => exportStatus({ queue: persistent.url, exportId });
      await waitFor('committed pages', async () => (await status()).records > 0 && running.every((worker) => /waiting for jobs/.test(worker.err())));
      await persistent.restart(700);
      await waitFor('the export to complete', async () => (await status()).state === 'completed', 120_000);
      expect(await tableCounts('results_restart')).toEqual({ rows: RECORDS, distinct: RECORDS });
      // Each worker said once that Redis went away and once that it was back, not every reconnect.
      for (const worker of running) {
        expect(worker.err()).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ went away; waiting for it/);
        expect(worker.err()).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ is back after \d+ s/);
        expect(worker.err().match(/ECONNREFUSED/g)?.length ?? 0).toBeLessThan(3);
      }
    } finally {
      await Promise.all(workers.splice(0).map((worker) => worker.kill('SIGKILL')));
      await persistent.stop();
    }
  });
});
