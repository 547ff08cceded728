// What an export checks about its output besides the records: a JSONL/CSV file or a DuckDB
// database deleted while the export runs fails the run (it used to report "Exported N records"
// into a file that no longer exists); a table that already holds rows but no saved position for
// this export id is refused unless `append` (--append) says to add to it.
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { ConfigError, OutputLostError } from '../src/core/errors.js';
import { exportInferenceResults } from '../src/innerworks/index.js';
import { captureCli } from './helpers/cli.js';
import { emulatorPerTest, queryDuckdb } from './helpers/destination-tests.js';
import { libraryOptions } from './helpers/file-exports.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { tempDir } from './helpers/temp-dir.js';

const startEmulator = emulatorPerTest();
const dir = tempDir('export-output-checks-');

describe('an output deleted while the export runs', () => {
  it('fails a JSONL, CSV, partitioned CSV or DuckDB export instead of reporting success', async () => {
    const emulator = await startEmulator({ records: 200 });
    const startTime = emulator.innerworks.timestampOf(0);
    const endTime = emulator.innerworks.timestampOf(150);
    const cases = [
      { name: 'x.jsonl', extra: {}, doomed: (path: string) => path },
      { name: 'x.csv', extra: {}, doomed: (path: string) => path },
      { name: 'parts.csv', extra: { startTime, endTime, partitions: 2 }, doomed: (path: string) => `${path}.part-2-of-2` },
      { name: 'x.duckdb', extra: { table: 'results' }, doomed: (path: string) => path },
    ];
    for (const { name, extra, doomed } of cases) {
      const path = join(dir(), name);
      const where = 'table' in extra ? { to: `duckdb:${path}` } : { file: path };
      let deleted = false;
      const error = await exportInferenceResults(
        libraryOptions(emulator, {
          ...where,
          ...extra,
          batchSize: 20,
          onProgress: (stats) => {
            if (stats.pages === 2 && !deleted) {
              deleted = true;
              rmSync(doomed(path));
            }
          },
        }),
      ).catch((caught: unknown) => caught);
      expect(deleted, name).toBe(true);
      expect(error, name).toBeInstanceOf(OutputLostError);
      expect(error, name).toMatchObject({ name: 'OutputLostError', path: doomed(path), how: 'deleted' });
      expect((error as Error).message, name).toMatch(/was deleted while the export ran/);
      expect((error as Error).message, name).toContain(doomed(path));
    }
  });

  it('the CLI exits 1 naming the file, with no "Exported" line, when --out is deleted mid-run', async () => {
    const emulator = await startEmulator({ records: 1000, latencyMs: 20 });
    const file = join(dir(), 'cli.jsonl');
    const child = spawnCli(['export', '--out', file, '--batch-size', '50', '--no-progress', '--json'], emulator.env);
    // Deleted once a page is counted in the state, with most of the export still to come.
    for (let i = 0; i < 400 && !/"pages":[1-9]/.test(await readFile(`${file}.state.json`, 'utf8').catch(() => '')); i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    rmSync(file);
    const [code] = await child.exited;
    expect(code, child.err()).toBe(EXIT.failure);
    expect(child.err()).toContain(`The output file ${file} was deleted while the export ran`);
    expect(child.err()).not.toContain('Exported');
    expect(JSON.parse(child.out().trim().split('\n').at(-1)!).error).toMatchObject({ name: 'OutputLostError', exitCode: EXIT.failure });
  });
});

describe('a table with rows but no saved position for this export id', () => {
  it('is refused (naming table and export id) unless append: true / --append, and nothing is written', async () => {
    const emulator = await startEmulator({ records: 60 });
    const database = join(dir(), 'shared.duckdb');
    const to = `duckdb:${database}`;
    // Rows from an export under another id (or loaded by other means).
    await exportInferenceResults(libraryOptions(emulator, { to, table: 'results', exportId: 'first', batchSize: 20 }));
    const count = async () => Number((await queryDuckdb(database, 'SELECT count(*) AS n FROM results'))[0].n);
    expect(await count()).toBe(60);

    const error = await exportInferenceResults(libraryOptions(emulator, { to, table: 'results', exportId: 'second', batchSize: 20 })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).option).toBe('append');
    expect((error as Error).message).toContain('results');
    expect((error as Error).message).toContain('second');
    expect(await count()).toBe(60);
    // No position was saved for the refused id: the refusal repeats, it does not turn into a resume.
    expect(await queryDuckdb(database, "SELECT count(*) AS n FROM inference_streams_checkpoints WHERE export_id = 'second'")).toEqual([{ n: 0n }]);

    // The CLI: exit 2, naming --append; the default export id is the table name.
    const cli = captureCli({ env: emulator.env });
    expect(await cli.run('export', '--to', to, '--table', 'results')).toBe(EXIT.usage);
    expect(cli.err()).toContain('--append');
    expect(cli.err()).toContain('export id results');
    expect(await count()).toBe(60);

    // Said so, it appends; a resume of an id with saved positions needs nothing.
    expect(await captureCli({ env: emulator.env }).run('export', '--to', to, '--table', 'results', '--append')).toBe(EXIT.ok);
    expect(await count()).toBe(120);
    expect(await captureCli({ env: emulator.env }).run('export', '--to', to, '--table', 'results')).toBe(EXIT.ok);
    expect(await count()).toBe(120);
    const summary = await exportInferenceResults(libraryOptions(emulator, { to, table: 'results', exportId: 'third', append: true }));
    expect(summary.records).toBe(60);
    expect(await count()).toBe(180);
    // A file export has no table to append to.
    await expect(exportInferenceResults(libraryOptions(emulator, { file: join(dir(), 'x.jsonl'), append: true }))).rejects.toThrow(/append/);
  });

  it('the same on a real PostgreSQL: refused without append (rows untouched, no position saved), added with it', async () => {
    let cluster: PostgresCluster | undefined;
    try {
      cluster = await startPostgres();
      const emulator = await startEmulator({ records: 40 });
      const options = libraryOptions(emulator, { to: cluster.url, table: 'shared', batchSize: 15 });
      await exportInferenceResults({ ...options, exportId: 'loaded-before' });
      const count = async () => (await cluster!.query<{ n: number }>('SELECT count(*)::int AS n FROM shared'))[0].n;
      const error = await exportInferenceResults(options).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/table shared .* already has rows, but no saved position for export id shared/);
      expect((error as Error).message).not.toContain(cluster.password);
      expect(await count()).toBe(40);
      expect(await cluster.query("SELECT 1 FROM inference_streams_checkpoints WHERE export_id = 'shared'")).toEqual([]);
      expect((await exportInferenceResults({ ...options, append: true })).records).toBe(40);
      expect(await count()).toBe(80);
    } finally {
      await cluster?.stop();
    }
  }, 120_000);
});
