// exportInferenceResults() against the emulator: exactly-once JSONL files across aborts, torn
// pages, SIGKILLs at random moments, appends, and time partitions.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { appendFile, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, ConfigError } from '../src/core/errors.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../src/emulator/index.js';
import { exportInferenceResults, exportPartition, planPartitions, type ExportInferenceResultsOptions, type ExportPartitionOptions } from '../src/innerworks/index.js';
import { tempDir } from './helpers/temp-dir.js';

const KEY = 'emulator-innerworks-key';
const ROOT = join(import.meta.dirname, '..');
let emulator: Emulator | undefined;
const dir = tempDir('innerworks-export-');
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(options: EmulatorOptions): Promise<Emulator> {
  emulator = await startEmulator(options);
  return emulator;
}

function opts(file: string, extra: Partial<ExportInferenceResultsOptions> = {}): ExportInferenceResultsOptions {
  return { file, apiKey: KEY, baseUrl: emulator!.url, retry: { baseDelayMs: 1, maxDelayMs: 20 }, ...extra };
}

function expectedJsonl(from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += `${JSON.stringify(JSON.parse(emulator!.innerworks.recordJson(i)))}\n`;
  return text;
}

const savedRecords = (stateFile: string) =>
  readFile(stateFile, 'utf8').then(
    (text) => (JSON.parse(text) as { records: number }).records,
    () => -1,
  );

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

describe('exportInferenceResults', () => {
  it('writes every record once as JSONL and saves {checkpoint, bytes, records, pages}', async () => {
    await start({ records: 95 });
    const file = join(dir(), 'one.jsonl');
    const summary = await exportInferenceResults(opts(file, { batchSize: 10 }));
    const text = await readFile(file, 'utf8');
    expect(text).toBe(expectedJsonl(0, 95));
    expect(summary).toMatchObject({ files: [file], records: 95, pages: 10, bytes: Buffer.byteLength(text), resumed: false, recordsThisRun: 95 });
    const state = JSON.parse(await readFile(`${file}.state.json`, 'utf8'));
    expect(state).toMatchObject({ checkpoint: summary.checkpoint, bytes: summary.bytes, records: 95, pages: 10 });
    // Run again later: only records appended since are added.
    emulator!.innerworks.append(7);
    const again = await exportInferenceResults(opts(file, { batchSize: 10 }));
    expect(again).toMatchObject({ records: 102, resumed: true, recordsThisRun: 7 });
    expect(await readFile(file, 'utf8')).toBe(expectedJsonl(0, 102));
  });

  it('resumes after an abort and a torn page, byte-identical to a one-shot export', async () => {
    await start({ records: 120 });
    const file = join(dir(), 'abort.jsonl');
    const controller = new AbortController();
    const error = await exportInferenceResults(
      opts(file, {
        batchSize: 10,
        signal: controller.signal,
        onProgress: (stats) => {
          if (stats.pages === 4) controller.abort();
        },
      }),
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AbortError);
    const state = JSON.parse(await readFile(`${file}.state.json`, 'utf8'));
    expect(state.records).toBeGreaterThanOrEqual(40);
    // A crash between the append and the state save leaves bytes the state does not cover.
    await appendFile(file, '{"requestId":"torn');
    const summary = await exportInferenceResults(opts(file, { batchSize: 10 }));
    expect(summary.resumed).toBe(true);
    expect(summary.recordsThisRun).toBe(120 - state.records);
    expect(await readFile(file, 'utf8')).toBe(expectedJsonl(0, 120));
  });

  it('refuses to resume when the file is shorter than the state says', async () => {
    await start({ records: 30 });
    const file = join(dir(), 'short.jsonl');
    await exportInferenceResults(opts(file, { batchSize: 10 }));
    await writeFile(file, 'x');
    await expect(exportInferenceResults(opts(file, { batchSize: 10 }))).rejects.toThrow(/Cannot resume/);
    await expect(exportInferenceResults(opts(file, { batchSize: 10, partitions: 2, startTime: 0 }))).rejects.toBeInstanceOf(ConfigError);
  });

  it('exports time partitions in parallel into one file, resumable, or split', async () => {
    await start({ records: 400, latencyMs: 2 });
    const startTime = emulator!.innerworks.timestampOf(0);
    const endTime = emulator!.innerworks.timestampOf(330);
    const file = join(dir(), 'parts.jsonl');
    const controller = new AbortController();
    const aborted = await exportInferenceResults(
      opts(file, {
        batchSize: 8,
        startTime,
        endTime,
        partitions: 4,
        signal: controller.signal,
        onProgress: (stats) => {
          // >=, not ===: parallel partitions may count two pages before either reports progress.
          if (stats.pages >= 9) controller.abort();
        },
      }),
    ).catch((caught: unknown) => caught);
    expect(aborted).toBeInstanceOf(AbortError);
    const summary = await exportInferenceResults(opts(file, { batchSize: 8, startTime, endTime, partitions: 4 }));
    expect(summary).toMatchObject({ files: [file], records: 330, resumed: true });
    expect(await readFile(file, 'utf8')).toBe(expectedJsonl(0, 330));
    expect((await readdir(dir())).filter((name) => name.startsWith('parts.jsonl.part-'))).toEqual([]);
    // Partitions wait for each other: the emulator saw them concurrently.
    expect(emulator!.stats()['innerworks.batch'].maxConcurrent).toBeGreaterThan(1);

    const splitFile = join(dir(), 'split.jsonl');
    const split = await exportInferenceResults(opts(splitFile, { batchSize: 8, startTime, endTime, partitions: 3, split: true }));
    expect(split.files).toHaveLength(3);
    const joined = (await Promise.all(split.files.map((part) => readFile(part, 'utf8')))).join('');
    expect(joined).toBe(expectedJsonl(0, 330));
  });

  it('survives SIGKILL at random moments: after 5+ kills the file equals a one-shot export', async () => {
    // The child runs the built library: compile src/ into a private directory (no race with
    // dist/), one level below package.json as dist/ is (core/version.js reads ../../package.json).
    const build = join(ROOT, `.innerworks-test-build-${process.pid}`);
    await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', build]).catch(() => undefined);
    const entry = join(build, 'innerworks', 'index.js');
    expect(existsSync(entry)).toBe(true);
    try {
      await start({ records: 6000, latencyMs: 3 });
      const file = join(dir(), 'killed.jsonl');
      const child = join(dir(), 'child.mjs');
      await writeFile(
        child,
        `const { exportInferenceResults } = await import(${JSON.stringify(new URL(`file://${entry}`).href)});
await exportInferenceResults({ file: ${JSON.stringify(file)}, apiKey: ${JSON.stringify(KEY)}, baseUrl: ${JSON.stringify(emulator!.url)}, batchSize: 40 });
process.exit(0);
`,
      );
      let kills = 0;
      for (let run = 0; run < 40; run++) {
        const proc = spawn(process.execPath, [child], { stdio: ['ignore', 'ignore', 'inherit'] });
        const exited = once(proc, 'exit');
        if (kills < 5) {
          // Kill at a random moment after this run has saved progress of its own.
          const before = await savedRecords(`${file}.state.json`);
          while (proc.exitCode === null && (await savedRecords(`${file}.state.json`)) <= before) await new Promise((resolve) => setTimeout(resolve, 5));
          await Promise.race([new Promise((resolve) => setTimeout(resolve, Math.random() * 60)), exited]);
          if (proc.exitCode === null) {
            proc.kill('SIGKILL');
            kills++;
          }
        }
        const [code, signal] = await exited;
        if (code === 0) break;
        expect(signal).toBe('SIGKILL');
      }
      expect(kills).toBeGreaterThanOrEqual(5);
      expect(await savedRecords(`${file}.state.json`)).toBe(6000);
      const oneShot = join(dir(), 'one-shot.jsonl');
      await exportInferenceResults(opts(oneShot, { batchSize: 40 }));
      expect(await sha256(file)).toBe(await sha256(oneShot));
      expect((await readFile(file, 'utf8')).split('\n').length - 1).toBe(6000);
    } finally {
      await rm(build, { recursive: true, force: true });
    }
  });

  it('refuses to resume with other time bounds than the export was started with', async () => {
    const emu = await start({ records: 600 });
    const file = join(dir(), 'bounds.jsonl');
    const startTime = emu.innerworks.timestampOf(100);
    const first = await exportInferenceResults(opts(file, { startTime, batchSize: 100 }));
    expect(first.records).toBeGreaterThan(490);
    expect(first.records).toBeLessThan(600);
    const moved = await exportInferenceResults(opts(file, { startTime: emu.innerworks.timestampOf(0) })).catch((e: unknown) => e as ConfigError);
    expect(moved).toBeInstanceOf(ConfigError);
    expect((moved as ConfigError).option).toBe('startTime');
    expect((moved as ConfigError).message).toMatch(/differs from the export being resumed/);
    const again = await exportInferenceResults(opts(file, { startTime }));
    expect(again.records).toBe(first.records);
  });

  it('exportPartition refuses files and a missing to: a lone partition needs a database', async () => {
    const plan = planPartitions({ startTime: 0, endTime: 1000, partitions: 2 });
    const base = { apiKey: KEY, baseUrl: 'http://127.0.0.1:1', exportId: 'x', plan, partition: 0, table: 't' };
    for (const options of [{ ...base }, { ...base, to: join(dir(), 'p.jsonl') }, { ...base, table: undefined, file: join(dir(), 'p.jsonl') }]) {
      const error = await exportPartition(options as unknown as ExportPartitionOptions).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe('to');
    }
  });
});
