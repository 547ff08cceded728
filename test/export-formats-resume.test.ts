// One file, one format: an export SIGKILLed in one format and run again on the same --out in
// another is refused (exit 2, naming both formats) before anything is written, instead of
// appending CSV rows after JSON lines (or starting over beside a Parquet parts directory); and an
// --out whose extension names a format not written as a file (results.duckdb) is refused with
// the --to hint instead of getting JSONL.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { ConfigError } from '../src/core/errors.js';
import { exportInferenceResults } from '../src/innerworks/index.js';
import { captureCli } from './helpers/cli.js';
import { emulatorPerTest } from './helpers/destination-tests.js';
import { libraryOptions } from './helpers/file-exports.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { tempDir } from './helpers/temp-dir.js';

const startEmulator = emulatorPerTest();
const dir = tempDir('export-formats-resume-');

/**
 * Every file under `root` (recursively) with the hash of its bytes: what "untouched" compares.
 * Not a state temp file a kill mid-save left (`.g.dat.state.json.PID@HOST.tmp`): litter, which the
 * next run removes on purpose.
 */
async function snapshot(root: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true })) {
    if (/\.state\.json\.\d+(@[^/]+)?\.tmp$/.test(entry)) continue;
    const path = join(root, entry);
    if ((await stat(path)).isDirectory()) {
      files[`${relative(root, path)}/`] = 'dir';
      continue;
    }
    files[relative(root, path)] = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  }
  return files;
}

/** Poll until `ready()` holds (the export is under way), at most 20 s. */
async function until(ready: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the export never got under way');
}

const nonEmpty = (path: string) => stat(path).then((s) => s.size > 0, () => false);
const pagesSaved = (state: string) => readFile(state, 'utf8').then((text) => (JSON.parse(text) as { pages: number }).pages > 0, () => false);
const NAMES = { jsonl: 'JSONL', csv: 'CSV', parquet: 'Parquet' } as const;

describe('a resumed file export keeps one format', () => {
  for (const [first, second] of [
    ['jsonl', 'csv'],
    ['csv', 'jsonl'],
    ['parquet', 'csv'],
    ['csv', 'parquet'],
  ] as const) {
    it(`SIGKILLed as ${first}, rerun as ${second} on the same --out: exit 2 naming both, every file untouched`, async () => {
      const emulator = await startEmulator({ records: 2000, latencyMs: 40 });
      const root = join(dir(), `${first}-then-${second}`);
      const file = join(root, 'g.dat');
      await mkdir(root);
      const child = spawnCli(['export', '--out', file, '--format', first, '--batch-size', '10', '--no-progress'], emulator.env);
      // Killed mid-run: a JSONL/CSV file with pages counted in its state, or a Parquet stage with rows (no part yet).
      await until(() => (first === 'parquet' ? nonEmpty(join(`${file}.parts`, '.stage-p01.csv')) : pagesSaved(`${file}.state.json`)));
      await child.kill('SIGKILL');
      const before = await snapshot(root);

      const cli = captureCli({ env: emulator.env });
      const code = await cli.run('export', '--out', file, '--format', second, '--batch-size', '10');
      expect(code, cli.err()).toBe(EXIT.usage);
      expect(cli.err()).toContain('--format');
      expect(cli.err()).toContain(`was written as ${NAMES[first]}, not ${NAMES[second]}`);
      expect(cli.err()).toContain(`--format ${first}`);
      expect(await snapshot(root)).toEqual(before);

      // The library says the same with a ConfigError on `format`.
      const error = await exportInferenceResults(libraryOptions(emulator, { file, format: second, batchSize: 10 })).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe('format');
      expect(await snapshot(root)).toEqual(before);
    });
  }

  it('a state file whose format is none written here: ConfigError of stateFile (exit 2, --state), the output untouched', async () => {
    const emulator = await startEmulator({ records: 30 });
    const root = join(dir(), 'alien-state');
    await mkdir(root);
    const file = join(root, 'alien.jsonl');
    await writeFile(`${file}.state.json`, JSON.stringify({ format: 'xml' }));
    const before = await snapshot(root);
    const cli = captureCli({ env: emulator.env });
    const code = await cli.run('export', '--out', file, '--json');
    expect(code, cli.err()).toBe(EXIT.usage);
    const failure = JSON.parse(cli.out().trim().split('\n').at(-1)!).error;
    expect(failure).toMatchObject({ name: 'ConfigError', option: 'stateFile' });
    expect(failure.message).toContain(`Invalid --state: `);
    expect(failure.message).toContain(`${file}.state.json is not the state of an Innerworks export`);
    expect(await snapshot(root)).toEqual(before);
    const error = await exportInferenceResults(libraryOptions(emulator, { file })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('Invalid option "stateFile"');
  });

  it('resuming in the format it was started with still works after a refusal (JSONL, stopped, then finished)', async () => {
    const emulator = await startEmulator({ records: 300 });
    const file = join(dir(), 'resume.dat');
    const controller = new AbortController();
    await exportInferenceResults(libraryOptions(emulator, { file, format: 'jsonl', batchSize: 20, signal: controller.signal, onProgress: (s) => s.pages >= 2 && controller.abort() })).catch(() => undefined);
    await expect(exportInferenceResults(libraryOptions(emulator, { file, format: 'csv', batchSize: 20 }))).rejects.toThrow(/was written as JSONL, not CSV/);
    const summary = await exportInferenceResults(libraryOptions(emulator, { file, format: 'jsonl', batchSize: 20 }));
    expect(summary).toMatchObject({ resumed: true, records: 300 });
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(300);
    expect(lines.every((line) => line.startsWith('{'))).toBe(true);
  });

  it('refuses --out results.duckdb (and other formats it does not write as a file) with the --to hint, writing nothing', async () => {
    const emulator = await startEmulator({ records: 10 });
    for (const name of ['results.duckdb', 'results.db', 'results.sqlite', 'results.tsv', 'results.jsonl.gz']) {
      const file = join(dir(), name);
      const cli = captureCli({ env: emulator.env });
      expect(await cli.run('export', '--out', file), name).toBe(EXIT.usage);
      expect(cli.err(), name).toContain('--out');
      if (/\.(duckdb|db|sqlite)$/.test(name)) expect(cli.err(), name).toContain(`--to duckdb:${file} --table NAME`);
      expect(existsSync(file), name).toBe(false);
      expect(existsSync(`${file}.state.json`), name).toBe(false);
    }
    const error = await exportInferenceResults(libraryOptions(emulator, { file: join(dir(), 'lib.duckdb') })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).option).toBe('file');
    expect((error as Error).message).toContain(`--to duckdb:${join(dir(), 'lib.duckdb')} --table NAME (options to and table)`);
    // An explicit format is the caller's word for what the file holds.
    const summary = await exportInferenceResults(libraryOptions(emulator, { file: join(dir(), 'explicit.db'), format: 'jsonl' }));
    expect(summary.records).toBe(10);
  });
});
