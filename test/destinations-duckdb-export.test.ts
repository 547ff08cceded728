// `inference-streams export --to duckdb:FILE --table T` against the emulator with 20 % injected
// faults: SIGKILLed at random and resumed, the table holds every record exactly once, equal to a
// one-shot export, and after every kill the rows are exactly those the saved position counts.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { exportInferenceResults } from '../src/innerworks/index.js';
import { captureCli } from './helpers/cli.js';
import { emulatorPerTest, queryDuckdb } from './helpers/destination-tests.js';
import { FAULTS, KEY } from './helpers/file-exports.js';
import { killLoop, usePrivateBuild } from './helpers/kill-loop.js';
import { tempDir } from './helpers/temp-dir.js';

const startEmulator = emulatorPerTest();

/** The pid of `parent`'s child process (the DuckDB host), once it has one (Linux /proc). */
async function childOf(parent: number, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const name of await readdir('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      // `pid (comm) state ppid …`: the comm may hold spaces, so split after its ')'.
      const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) return Number(name);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`process ${parent} started no child in ${timeoutMs} ms`);
}

/** Whether process `pid` still runs (a zombie counts as gone). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}
const cli = usePrivateBuild('duckdb-export');
const dir = tempDir('duckdb-export-');

describe('export to DuckDB', () => {
  it('survives 20 % faults and 5+ SIGKILLs of the CLI: exactly N rows, no request id twice, equal to a one-shot export', async () => {
    const records = 3000;
    const emulator = await startEmulator({ records, latencyMs: 4, faults: FAULTS });
    const database = join(dir(), 'killed.duckdb');
    const result = await killLoop({
      cli: cli(),
      args: ['export', '--to', `duckdb:${database}`, '--table', 'killed', '--batch-size', '40', '--json'],
      env: { ...emulator.env },
      minKills: 5,
      killAfterMs: () => 400 + Math.random() * 700,
      afterKill: async () => {
        const [row] = await queryDuckdb(database, "SELECT (SELECT count(*) FROM killed) AS rows, (SELECT sum(records) FROM inference_streams_checkpoints WHERE export_id = 'killed') AS saved").catch(() => [
          // Killed before the first commit: no tables yet.
          { rows: 0n, saved: null },
        ]);
        expect(row.rows).toBe(row.saved ?? 0n);
      },
    });
    expect(result.kills).toBeGreaterThanOrEqual(5);
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toMatchObject({ records });
    expect(emulator.stats()['innerworks.batch'].faults).toBeGreaterThan(0);
    expect(await queryDuckdb(database, 'SELECT count(*) AS rows, count(DISTINCT request_id) AS ids FROM killed')).toEqual([{ rows: BigInt(records), ids: BigInt(records) }]);

    emulator.setFaults(undefined);
    const oneShotFile = join(dir(), 'one-shot.duckdb');
    expect(await exportInferenceResults({ to: `duckdb:${oneShotFile}`, table: 'results', apiKey: KEY, baseUrl: emulator.url, batchSize: 5000 })).toMatchObject({ records });
    const [diff] = await queryDuckdb(
      database,
      `ATTACH '${oneShotFile}' AS one_shot (READ_ONLY);
       SELECT (SELECT count(*) FROM (FROM killed EXCEPT ALL FROM one_shot.results)) + (SELECT count(*) FROM (FROM one_shot.results EXCEPT ALL FROM killed)) AS n`,
    );
    expect(diff.n).toBe(0n);
  });

  it('CLI: refuses SQL in --table and a table of other columns before writing; a rerun adds only new records', async () => {
    const emulator = await startEmulator({ records: 60 });
    const database = join(dir(), 'cli.duckdb');
    const run = (...args: string[]) => {
      const run = captureCli({ env: { ...emulator.env } });
      return run.run('export', '--to', `duckdb:${database}`, ...args).then((code) => ({ code, out: run.out(), err: run.err() }));
    };
    const injected = await run('--table', 'results; drop table x');
    expect(injected.code).toBe(EXIT.usage);
    expect(injected.err).toMatch(/table/);
    const setup = await DuckDBInstance.create(database);
    const connection = await setup.connect();
    await connection.run("CREATE TABLE other (id VARCHAR); INSERT INTO other VALUES ('keep')");
    connection.closeSync();
    setup.closeSync();
    const mismatch = await run('--table', 'other');
    expect(mismatch.code).toBe(EXIT.failure);
    expect(mismatch.err).toMatch(/table other exists with other columns/);
    expect(await queryDuckdb(database, 'FROM other')).toEqual([{ id: 'keep' }]);

    expect((await run('--table', 'results', '--batch-size', '25', '--json')).code).toBe(EXIT.ok);
    emulator.innerworks.append(15);
    const again = await run('--table', 'results', '--json');
    expect(again.code).toBe(EXIT.ok);
    expect(JSON.parse(again.out)).toMatchObject({ records: 75, recordsThisRun: 15 });
    expect(await queryDuckdb(database, 'SELECT count(*) AS n, count(DISTINCT request_id) AS ids FROM results')).toEqual([{ n: 75n, ids: 75n }]);
  });

  it('a SIGKILLed DuckDB host process fails the export, loses and doubles nothing, and a rerun finishes; a SIGKILLed CLI leaves no host behind', async () => {
    const records = 6000;
    const emulator = await startEmulator({ records, latencyMs: 4 });
    const database = join(dir(), 'host-killed.duckdb');
    const saved = async () => {
      const [row] = await queryDuckdb(database, "SELECT (SELECT count(*) FROM killed) AS rows, (SELECT sum(records) FROM inference_streams_checkpoints WHERE export_id = 'killed') AS saved").catch(() => [
        // Killed before the first commit: no tables yet.
        { rows: 0n, saved: null },
      ]);
      return { rows: row.rows, saved: row.saved ?? 0n };
    };
    const start = () => {
      const child = spawn(process.execPath, [cli(), 'export', '--to', `duckdb:${database}`, '--table', 'killed', '--batch-size', '40', '--json'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...emulator.env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      return { child, exited, out: () => stdout, err: () => stderr };
    };

    // The host killed at several moments once pages flow (the first page's stage file is there):
    // the export fails naming it; the rows are those saved.
    const stage = join(dir(), '.host-killed.duckdb.stage.csv');
    let midExport = 0;
    for (const waitMs of [0, 150, 300, 600]) {
      await rm(stage, { force: true });
      const run = start();
      const host = await childOf(run.child.pid!);
      while (!existsSync(stage) && run.child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      process.kill(host, 'SIGKILL');
      const [code] = await run.exited;
      expect(code, run.err()).not.toBe(0);
      expect(run.err()).toMatch(/DuckDB process \(pid \d+\) ended by signal SIGKILL/);
      const row = await saved();
      expect(row.rows).toBe(row.saved);
      expect(Number(row.rows)).toBeLessThan(records);
      if (Number(row.rows) > 0) midExport++;
    }
    expect(midExport).toBeGreaterThan(0);

    // The CLI killed: its host exits too (the database is free for the next run at once).
    const orphaned = start();
    const host = await childOf(orphaned.child.pid!);
    await new Promise((resolve) => setTimeout(resolve, 500));
    orphaned.child.kill('SIGKILL');
    await orphaned.exited;
    const deadline = Date.now() + 5000;
    while ((await running(host)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await running(host)).toBe(false);
    const row = await saved();
    expect(row.rows).toBe(row.saved);

    const last = start();
    const [code] = await last.exited;
    expect(code, last.err()).toBe(0);
    expect(JSON.parse(last.out().trim().split('\n').at(-1)!)).toMatchObject({ records });
    expect(await queryDuckdb(database, 'SELECT count(*) AS rows, count(DISTINCT request_id) AS ids FROM killed')).toEqual([{ rows: BigInt(records), ids: BigInt(records) }]);
  });
});
