/**
 * Queued predictions (`predict --queue`): a JSONL file cut into 6 byte ranges, enqueued as one
 * flow, run by two worker PROCESSES (the built CLI), one SIGKILLed mid-partition: the table ends
 * with every input exactly once, status says completed, no credential reaches Redis. Enqueueing
 * again gives the same id and adds nothing; a JSON array or stdin is refused.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { enqueuePredictions, exportStatus, type ExportStatus } from '../src/queue/index.js';
import { captureCli } from './helpers/cli.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { docs } from './reinfer-helpers.js';

const N = 6000;
const TOKEN = 'queue-predict-token-5521';
let emulator: Emulator;
let postgres: PostgresCluster;
let redis: RedisServer;
const workers: Array<ReturnType<typeof spawnWorker>> = [];
const dir = tempDir('queue-predict-');

beforeAll(async () => {
  [emulator, postgres, redis] = await Promise.all([startEmulator({ reinfer: { tokens: [TOKEN] } }), startPostgres(), startRedis()]);
  // Slow enough batches that a partition is still running when its worker is killed.
  emulator.reinfer.configure({ latencyMs: 60, perDocumentMs: 1, jitterMs: 0 });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.kill('SIGKILL')));
});
afterAll(async () => {
  await Promise.allSettled([emulator?.close(), postgres?.stop(), redis?.stop()]);
});

function spawnWorker() {
  return spawnCli(['worker', '--queue', redis.url, '--stalled-interval', '500', '--lock-duration', '1500', '--no-progress'], { ...emulator.env, PGPASSWORD: postgres.password });
}


const statusOf = (id: string): Promise<ExportStatus> => exportStatus({ queue: redis.url, exportId: id });

async function redisKeys(): Promise<{ keys: string[]; text: string }> {
  const client = new Redis(redis.url);
  try {
    const keys = (await client.keys('*')).sort();
    const values: unknown[] = [];
    for (const key of keys) {
      const type = await client.type(key);
      if (type === 'hash') values.push(await client.hgetall(key));
      else if (type === 'string') values.push(await client.get(key));
    }
    return { keys, text: `${keys.join('\n')}\n${JSON.stringify(values)}` };
  } finally {
    client.disconnect();
  }
}

const enqueueArgs = (input: string, table: string) => ['predict', '--queue', redis.url, '--in', input, '--partitions', '6', '--project', 'acme', '--dataset', 'emails', '--to', postgres.url, '--table', table, '--batch-size', '20', '--concurrency', '2', '--backoff-ms', '100', '--json'];

describe('predict --queue', () => {
  it('6 partitions, two worker processes, one SIGKILLed mid-run: completes with exactly N rows, each input once', async () => {
    const input = join(dir(), 'docs.jsonl');
    await writeFile(input, `${docs(N).map((d) => JSON.stringify(d)).join('\n')}\n`);
    // The enqueuer needs no token: the workers read theirs.
    const cli = captureCli({ env: {} });
    expect(await cli.run(...enqueueArgs(input, 'preds_killed')), cli.err()).toBe(EXIT.ok);
    const first = JSON.parse(cli.out());
    expect(first).toMatchObject({ command: 'predict', added: true, partitions: 6 });
    expect(first.id).toMatch(/^prd-[0-9a-f]{16}$/);
    const before = await redisKeys();
    const again = captureCli({ env: {} });
    expect(await again.run(...enqueueArgs(input, 'preds_killed')), again.err()).toBe(EXIT.ok);
    expect(JSON.parse(again.out())).toMatchObject({ id: first.id, added: false, retried: 0 });
    expect((await redisKeys()).keys).toEqual(before.keys);

    const sentBefore = emulator.reinfer.documentsReceived();
    workers.push(spawnWorker(), spawnWorker());
    // Kill the worker of a partition that has committed pages and is not done.
    let victim: (typeof workers)[number] | undefined;
    let killed = -1;
    await waitFor('a partition with committed pages', async () => {
      const running = (await statusOf(first.id)).partitions.filter((p) => p.state === 'active' && p.records > 0);
      for (const p of running) {
        const tag = `${first.id} partition ${p.partition}: `;
        victim = workers.find((worker) => worker.err().includes(`${tag}started`) && !worker.err().includes(`${tag}completed`));
        if (victim) {
          killed = p.partition;
          return true;
        }
      }
      return false;
    }, 120_000);
    await victim!.kill('SIGKILL');
    const survivor = workers.find((worker) => worker !== victim)!;
    await waitFor('the predictions to complete', async () => (await statusOf(first.id)).state === 'completed', 120_000);
    // The killed partition was taken over by the other worker, which resumed it from its committed
    // position: only the batches in flight at the kill were sent twice.
    expect(survivor.err()).toContain(`${first.id} partition ${killed}: completed`);
    expect(emulator.reinfer.documentsReceived() - sentBefore).toBeLessThanOrEqual(N + (2 + 2) * 20);

    const [rows, ids] = (await postgres.psql('SELECT count(*), count(DISTINCT id) FROM preds_killed')).split('|').map(Number);
    expect({ rows, ids }).toEqual({ rows: N, ids: N });
    const status = captureCli({ env: {} });
    expect(await status.run('status', '--queue', redis.url, '--id', first.id, '--json'), status.err()).toBe(EXIT.ok);
    const reported = JSON.parse(status.out());
    expect(reported).toMatchObject({ command: 'status', exportId: first.id, kind: 'predict', state: 'completed', records: N });
    expect(reported.partitions).toHaveLength(6);
    expect(reported.partitions[5].endByte).toBeGreaterThan(0);
    const alias = captureCli({ env: {} });
    expect(await alias.run('status', '--queue', redis.url, '--export', first.id)).toBe(EXIT.ok);
    expect(alias.out()).toMatch(/Predictions of .*docs\.jsonl .*completed/);
    expect(alias.out()).toMatch(/bytes 0 \.\. \d+/);
    const stored = (await redisKeys()).text;
    expect(stored).toContain(first.id);
    expect(stored).not.toContain(TOKEN);
    expect(stored).not.toContain(postgres.password);
  }, 240_000);

  it('the id: the same for the same file and settings (concurrency aside), another for another K or a changed file', async () => {
    const input = join(dir(), 'small.jsonl');
    await writeFile(input, `${docs(20).map((d) => JSON.stringify(d)).join('\n')}\n`);
    const common = { queue: redis.url, input, to: postgres.url, table: 'preds_ids', project: 'acme', dataset: 'emails' };
    const first = await enqueuePredictions({ ...common, partitions: 3, concurrency: 2 });
    expect(first).toMatchObject({ partitions: 3, added: true });
    expect(await enqueuePredictions({ ...common, partitions: 3, concurrency: 8 })).toEqual({ ...first, added: false, retried: 0 });
    const other = await enqueuePredictions({ ...common, partitions: 4 });
    expect(other.id).not.toBe(first.id);
    await writeFile(input, `${docs(21).map((d) => JSON.stringify(d)).join('\n')}\n`);
    expect((await enqueuePredictions({ ...common, partitions: 3 })).id).not.toBe(first.id);
  });

  it('refuses a JSON array, stdin and a local-only flag before touching Redis', async () => {
    const array = join(dir(), 'docs.json');
    await writeFile(array, JSON.stringify(docs(3)));
    const asJsonl = join(dir(), 'array-named.jsonl');
    await writeFile(asJsonl, `  ${JSON.stringify(docs(3))}`);
    const dead = 'redis://127.0.0.1:1';
    for (const [args, message] of [
      [['--in', array], /JSON document \(an array\), not JSONL/],
      [['--in', asJsonl], /JSON document \(an array\), not JSONL/],
      [['--in', '-'], /stdin cannot be split/],
      [[], /stdin cannot be split/],
      [['--in', array, '--input-format', 'json'], /JSON array cannot be cut/],
      [['--in', array, '--out', 'x.jsonl'], /--out cannot be used with --queue/],
    ] as const) {
      const cli = captureCli({ env: {} });
      const code = await cli.run('predict', '--queue', dead, '--project', 'acme', '--dataset', 'emails', '--to', postgres.url, '--table', 't', ...args);
      expect(code).not.toBe(EXIT.ok);
      expect(cli.err()).toMatch(message);
      expect(cli.err()).not.toContain(postgres.password);
    }
  });
});
