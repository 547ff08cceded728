// `inference-streams export --to postgres://… --table T` and exportInferenceResults({to, table})
// against the emulator with 20 % injected faults and a real throwaway PostgreSQL: SIGKILLed at
// random and resumed, the table holds every record exactly once, equal to a one-shot export.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { exportInferenceResults } from '../src/innerworks/index.js';
import { captureCli } from './helpers/cli.js';
import { emulatorPerTest } from './helpers/destination-tests.js';
import { FAULTS, KEY } from './helpers/file-exports.js';
import { killLoop, usePrivateBuild } from './helpers/kill-loop.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgres();
});
afterAll(async () => {
  await cluster?.stop();
});
const startEmulator = emulatorPerTest();
const cli = usePrivateBuild('pg-export');

const query = <T = Record<string, unknown>>(sql: string) => cluster.query<T>(sql);
const withoutPassword = () => `postgres://${cluster.user}@127.0.0.1:${cluster.port}/${cluster.database}`;

/** Rows of `a` not in `b` and of `b` not in `a` (with duplicates), 0 when equal. Rows compare as text: json columns have no equality. */
async function differingRows(a: string, b: string): Promise<number> {
  const rows = (table: string) => `SELECT r::text FROM ${table} r`;
  const [{ n }] = await query<{ n: number }>(`SELECT ((SELECT count(*) FROM (${rows(a)} EXCEPT ALL ${rows(b)}) x) + (SELECT count(*) FROM (${rows(b)} EXCEPT ALL ${rows(a)}) y))::int AS n`);
  return n;
}

describe('export to PostgreSQL', () => {
  it('survives 20 % faults and 5+ SIGKILLs of the CLI: exactly N rows, no request id twice, equal to a one-shot export', async () => {
    const records = 3000;
    const emulator = await startEmulator({ records, latencyMs: 4, faults: FAULTS });
    const invariant = async () => {
      // After any kill, the rows in the table are exactly those the saved position counts.
      const [{ exists }] = await query<{ exists: boolean }>("SELECT to_regclass('killed') IS NOT NULL AS exists");
      if (!exists) return; // killed before the first run created its tables
      const [row] = await query<{ rows: number; saved: number | null }>(
        "SELECT (SELECT count(*) FROM killed)::int AS rows, (SELECT sum(records) FROM inference_streams_checkpoints WHERE export_id = 'killed')::int AS saved",
      );
      expect(row.rows).toBe(row.saved ?? 0);
    };
    const result = await killLoop({
      cli: cli(),
      // libpq conventions: the URL without its password, PGPASSWORD in the environment.
      args: ['export', '--to', withoutPassword(), '--table', 'killed', '--batch-size', '40', '--json'],
      env: { ...emulator.env, PGPASSWORD: cluster.password },
      minKills: 5,
      killAfterMs: () => 300 + Math.random() * 700,
      afterKill: invariant,
    });
    expect(result.kills).toBeGreaterThanOrEqual(5);
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toMatchObject({ records });
    expect(result.stdout + result.stderr).not.toContain(cluster.password);
    expect(emulator.stats()['innerworks.batch'].faults).toBeGreaterThan(0);

    const [counts] = await query<{ rows: number; ids: number }>('SELECT count(*)::int AS rows, count(DISTINCT request_id)::int AS ids FROM killed');
    expect(counts).toEqual({ rows: records, ids: records });
    emulator.setFaults(undefined);
    const oneShot = await exportInferenceResults({ to: cluster.url, table: 'one_shot', apiKey: KEY, baseUrl: emulator.url, batchSize: 5000 });
    expect(oneShot).toMatchObject({ records, resumed: false });
    expect(await differingRows('killed', 'one_shot')).toBe(0);
  });

  it('exports time partitions in parallel into one table, and a rerun adds only new records', async () => {
    const emulator = await startEmulator({ records: 1000, faults: FAULTS });
    const startTime = emulator.innerworks.timestampOf(0);
    const endTime = emulator.innerworks.timestampOf(900);
    const options = { to: cluster.url, table: 'parts', apiKey: KEY, baseUrl: emulator.url, batchSize: 25, partitions: 3, startTime, endTime, retry: { baseDelayMs: 1, maxDelayMs: 10 } };
    expect(await exportInferenceResults(options)).toMatchObject({ records: 900, files: [] });
    expect(await query('SELECT partition, records::int, done FROM inference_streams_checkpoints WHERE export_id = $$parts$$ ORDER BY partition')).toEqual([
      { partition: 0, records: 300, done: true },
      { partition: 1, records: 300, done: true },
      { partition: 2, records: 300, done: true },
    ]);
    expect(await exportInferenceResults(options)).toMatchObject({ records: 900, recordsThisRun: 0, resumed: true });
    expect(await query('SELECT count(*)::int AS rows, count(DISTINCT request_id)::int AS ids FROM parts')).toEqual([{ rows: 900, ids: 900 }]);
  });

  it('CLI: Ctrl-C saves the position in the database and says how to resume; the rerun completes the table', async () => {
    const emulator = await startEmulator({ records: 3000, latencyMs: 10 });
    const controller = new AbortController();
    const run = captureCli({ env: { ...emulator.env }, signal: controller.signal });
    const done = run.run('export', '--to', cluster.url, '--table', 'interrupted', '--batch-size', '20');
    for (let i = 0; i < 500; i++) {
      const [{ saved }] = await query<{ saved: number | null }>("SELECT (SELECT sum(records) FROM inference_streams_checkpoints WHERE export_id = 'interrupted')::int AS saved").catch(() => [{ saved: null }]);
      if ((saved ?? 0) > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    controller.abort();
    expect(await done).toBe(EXIT.interrupted);
    expect(run.err()).toContain(`progress is saved in postgres://${cluster.user}@127.0.0.1:${cluster.port}/${cluster.database}`);
    expect(run.err()).toContain('Run the same command again to resume');
    expect(run.err()).not.toContain(cluster.password);
    const [{ rows }] = await query<{ rows: number }>('SELECT count(*)::int AS rows FROM interrupted');
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThan(3000);
    const rerun = captureCli({ env: { ...emulator.env } });
    expect(await rerun.run('export', '--to', cluster.url, '--table', 'interrupted', '--batch-size', '500')).toBe(EXIT.ok);
    expect(rerun.err()).toMatch(/Exported 3,000 records \(\d[\d,]* new; .* to table interrupted of postgres:\/\//);
    // The rerun says where it resumes from, and how much the first run saved.
    expect(rerun.err()).toContain(`Resuming from table interrupted of postgres://${cluster.user}@127.0.0.1:${cluster.port}/${cluster.database}: ${rows.toLocaleString('en-US')} records saved by earlier runs`);
    expect(run.err()).toContain(`interrupted with ${rows.toLocaleString('en-US')} records saved;`);
    expect(run.err() + rerun.err()).not.toContain(cluster.password);
    expect(await query('SELECT count(*)::int AS rows, count(DISTINCT request_id)::int AS ids FROM interrupted')).toEqual([{ rows: 3000, ids: 3000 }]);
  });

  it('CLI: a wrong password or an unreachable server names host and database, never the password, and moves no position', async () => {
    const emulator = await startEmulator({ records: 50 });
    const ok = captureCli({ env: { ...emulator.env } });
    expect(await ok.run('export', '--to', cluster.url, '--table', 'cli_errors', '--json')).toBe(EXIT.ok);
    const before = await query("SELECT * FROM inference_streams_checkpoints WHERE export_id = 'cli_errors'");
    emulator.innerworks.append(20);
    const secret = 'wrong-password-for-cli-777';
    for (const [url, pattern] of [
      [`postgres://${cluster.user}:${secret}@127.0.0.1:${cluster.port}/${cluster.database}`, /password authentication failed/],
      [`postgres://${cluster.user}:${secret}@127.0.0.1:1/${cluster.database}`, /cannot connect to PostgreSQL.*ECONNREFUSED/],
    ] as const) {
      const run = captureCli({ env: { ...emulator.env }, verbose: true });
      expect(await run.run('export', '--to', url, '--table', 'cli_errors', '--verbose')).toBe(EXIT.failure);
      expect(run.err()).toMatch(pattern);
      expect(run.err()).toContain(`postgres://${cluster.user}@127.0.0.1:`);
      expect(run.err()).toContain(`/${cluster.database}`);
      expect(run.err() + run.out()).not.toContain(secret);
    }
    expect(await query("SELECT * FROM inference_streams_checkpoints WHERE export_id = 'cli_errors'")).toEqual(before);
    const refused = captureCli({ env: { ...emulator.env } });
    expect(await refused.run('export', '--to', cluster.url, '--table', 'results; drop table cli_errors')).toBe(EXIT.usage);
    expect(refused.err()).toMatch(/table/);
    const again = captureCli({ env: { ...emulator.env } });
    expect(await again.run('export', '--to', cluster.url, '--table', 'cli_errors', '--json')).toBe(EXIT.ok);
    expect(JSON.parse(again.out())).toMatchObject({ records: 70 });
    expect(await query('SELECT count(*)::int AS n FROM cli_errors')).toEqual([{ n: 70 }]);
  });
});
