// The CSV destination: `inference-streams export --out x.csv` against the emulator with 20 %
// faults, SIGKILLed at random and resumed (byte-identical to a one-shot export, every record
// once), the header and RFC 4180 quoting read back by csv-parse and DuckDB, csvWriter() for any
// object stream, and a full disk that resumes once there is space.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { AbortError, ConfigError, DiskFullError } from '../src/core/errors.js';
import { innerworksMapping } from '../src/destinations/columns.js';
import { csvWriter } from '../src/destinations/index.js';
import { exportInferenceResults } from '../src/innerworks/index.js';
import { AWKWARD_TEXT, FAULTS, duckdbRows, libraryOptions, oneShot, sqlString } from './helpers/file-exports.js';
import { emulatorPerTest, sha256 } from './helpers/destination-tests.js';
import { killLoop, usePrivateBuild } from './helpers/kill-loop.js';
import { tempDir } from './helpers/temp-dir.js';

const startEmulator = emulatorPerTest();
const cli = usePrivateBuild('destinations-csv');
const dir = tempDir('destinations-csv-');

const rowsOf = async (path: string) => parse(await readFile(path), { columns: true, relax_quotes: false }) as Record<string, string>[];

describe('CSV destination', () => {
  it('survives 20 % faults and 5+ SIGKILLs of the CLI: exactly N rows, each request id once, byte-identical to a one-shot export', async () => {
    const records = 3000;
    const emulator = await startEmulator({ records, latencyMs: 5, faults: FAULTS });
    const file = join(dir(), 'killed.csv');
    const state = `${file}.state.json`;
    // After every kill: the bytes the state counts hold exactly the records it counts.
    const invariant = async () => {
      const saved = await readFile(state, 'utf8').then((text) => JSON.parse(text) as { bytes: number; records: number }, () => undefined);
      if (!saved) return;
      const counted = (await readFile(file)).subarray(0, saved.bytes);
      expect(parse(counted, { columns: true })).toHaveLength(saved.records);
    };
    const result = await killLoop({
      cli: cli(),
      args: ['export', '--out', file, '--format', 'csv', '--batch-size', '40', '--json'],
      env: { ...emulator.env },
      minKills: 5,
      killAfterMs: () => 250 + Math.random() * 700,
      afterKill: invariant,
    });
    expect(result.kills).toBeGreaterThanOrEqual(5);
    expect(JSON.parse(result.stdout)).toMatchObject({ records });
    expect(emulator.stats()['innerworks.batch'].faults).toBeGreaterThan(0);

    const reference = join(dir(), 'one-shot.csv');
    await oneShot(emulator, reference);
    expect(await sha256(file)).toBe(await sha256(reference));
    const rows = await rowsOf(file);
    expect(rows).toHaveLength(records);
    expect(new Set(rows.map((row) => row.request_id)).size).toBe(records);
    // The same values as the records themselves, column by column.
    const mapping = innerworksMapping();
    for (const i of [0, 1234, records - 1]) {
      const record = JSON.parse(emulator.innerworks.recordJson(i)) as object;
      const expected = mapping.row(record).map((value, c) => (value === null ? '' : mapping.columns[c].type === 'timestamp' ? new Date(value as number).toISOString() : String(value)));
      expect(Object.values(rows[i])).toEqual(expected);
    }
    // DuckDB reads it with the header and types it finds.
    const [[count, ids, vpn]] = await duckdbRows(`SELECT count(*), count(DISTINCT request_id), typeof(any_value(vpn_is_enabled)) FROM read_csv(${sqlString(file)})`);
    expect([Number(count), Number(ids), vpn]).toEqual([records, records, 'BOOLEAN']);
  });

  it('joins partitions into one CSV with one header, or keeps split parts each with its header', async () => {
    const emulator = await startEmulator({ records: 500, faults: FAULTS });
    const startTime = emulator.innerworks.timestampOf(0);
    const endTime = emulator.innerworks.timestampOf(450);
    const file = join(dir(), 'parts.csv');
    const summary = await exportInferenceResults(libraryOptions(emulator, { file, batchSize: 30, startTime, endTime, partitions: 3 }));
    expect(summary).toMatchObject({ files: [file], records: 450 });
    const text = await readFile(file, 'utf8');
    expect(text.match(/^request_id,/gm)).toHaveLength(1);
    const rows = await rowsOf(file);
    expect(rows.map((row) => row.request_id)).toEqual(Array.from({ length: 450 }, (_, i) => (JSON.parse(emulator.innerworks.recordJson(i)) as { requestId: string }).requestId));

    const split = await exportInferenceResults(libraryOptions(emulator, { file: join(dir(), 'split.csv'), batchSize: 30, startTime, endTime, partitions: 3, split: true }));
    expect(split.files).toHaveLength(3);
    const parts = await Promise.all(split.files.map(rowsOf));
    expect(parts.flat().map((row) => row.request_id)).toEqual(rows.map((row) => row.request_id));
  });

  it('csvWriter(): quotes, backslashes, line breaks and non-ASCII round-trip; null and "" stay apart; unknown fields go to extras', async () => {
    const file = join(dir(), 'writer.csv');
    const objects = AWKWARD_TEXT.map((text, i) => ({ id: i, text, flag: i % 2 === 0, nested: { note: text } }));
    objects.push({ id: 99, text: null as unknown as string, flag: true, nested: { note: 'x' }, surprise: 'kept' } as (typeof objects)[number]);
    await pipeline(Readable.from(objects), csvWriter({ file, columns: ['id', 'text', 'flag', { name: 'note', path: 'nested.note' }] }));
    const bytes = await readFile(file);
    expect(bytes.subarray(0, 28).toString()).toBe('id,text,flag,note,extras\r\n0,');
    const rows = parse(bytes, { columns: true }) as Record<string, string>[];
    expect(rows.map((row) => row.text)).toEqual([...AWKWARD_TEXT, '']);
    expect(rows.map((row) => row.note)).toEqual([...AWKWARD_TEXT, 'x']);
    expect(rows.at(-1)!.extras).toBe('{"surprise":"kept"}');
    // DuckDB tells null ("" unquoted) from the empty string (quoted "").
    const read = await duckdbRows(`SELECT text, text IS NULL FROM read_csv(${sqlString(file)}, allow_quoted_nulls = false) ORDER BY id`);
    expect(read.map(([text]) => text)).toEqual([...AWKWARD_TEXT, null]);
  });

  it('refuses to resume with another keepRecord (another column layout) before writing anything, single or partitioned', async () => {
    const emulator = await startEmulator({ records: 120 });
    const startTime = emulator.innerworks.timestampOf(0);
    const endTime = emulator.innerworks.timestampOf(100);
    for (const [name, extra] of [
      ['single.csv', {}],
      ['partitioned.csv', { startTime, endTime, partitions: 2 }],
    ] as const) {
      for (const [first, second] of [
        [false, true],
        [true, false],
      ]) {
        const file = join(dir(), `${first ? 'kept' : 'plain'}-${name}`);
        const stateFile = `${file}.state.json`;
        // Stopped part-way, so the rerun would append to the same file.
        const controller = new AbortController();
        const stopped = await exportInferenceResults(
          libraryOptions(emulator, { file, keepRecord: first, batchSize: 10, signal: controller.signal, onProgress: (progress) => progress.pages >= 2 && controller.abort(), ...extra }),
        ).catch((error: unknown) => error);
        expect(stopped, name).toBeInstanceOf(AbortError);
        // The file, or the part files of a partitioned export, and the state.
        const written = async () => {
          const names = (await readdir(dir())).filter((entry) => entry.startsWith(basename(file))).sort();
          return Promise.all(names.map(async (entry) => [entry, await readFile(join(dir(), entry))] as const));
        };
        const before = await written();
        expect(before.map(([entry]) => entry)).toContain(basename(stateFile));
        const error = await exportInferenceResults(libraryOptions(emulator, { file, keepRecord: second, batchSize: 10, ...extra })).catch((caught: unknown) => caught);
        expect(error, name).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).option).toBe('keepRecord');
        expect((error as Error).message).toContain(`was written ${first ? 'with' : 'without'} keepRecord (--keep-record`);
        expect(await written(), name).toEqual(before);
        // The same setting resumes and finishes with one layout throughout.
        const summary = await exportInferenceResults(libraryOptions(emulator, { file, keepRecord: first, batchSize: 10, ...extra }));
        expect(summary.resumed).toBe(true);
        const rows = await rowsOf(file);
        expect(rows).toHaveLength(summary.records);
        expect(rows.every((row) => (first ? typeof row.record === 'string' && row.record.length > 0 : !('record' in row)))).toBe(true);
      }
    }
  });

  it('refuses bad options before writing anything', async () => {
    expect(() => csvWriter({ file: '' })).toThrow(ConfigError);
    expect(() => csvWriter({ file: 'x.csv', columns: [{ name: 'a', type: 'date' as 'string' }] })).toThrow(/columns\[0\]\.type/);
    await expect(exportInferenceResults({ apiKey: 'k', file: join(dir(), 'x.csv'), keepRecord: 'yes' as unknown as boolean })).rejects.toThrow(/keepRecord/);
    await expect(pipeline(Readable.from(['not an object']), csvWriter({ file: join(dir(), 'strings.csv') }))).rejects.toThrow(/writes objects, one row each; got string/);
  });

  // Needs root to mount a tiny tmpfs (as CI runs); skipped elsewhere.
  const canMount = process.getuid?.() === 0 && process.platform === 'linux';
  it.skipIf(!canMount)('a full disk fails with DiskFullError and resumes once there is space, equal to a one-shot export', async () => {
    const emulator = await startEmulator({ records: 2000 });
    const mount = join(dir(), 'tiny');
    mkdirSync(mount);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', mount]);
    } catch {
      return; // no mount permission in this container: nothing to test here
    }
    try {
      const file = join(mount, 'full.csv');
      const error = await exportInferenceResults(libraryOptions(emulator, { file, batchSize: 100 })).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DiskFullError);
      expect((error as Error).message).toMatch(/No space left.*run the same command again/);
      execFileSync('mount', ['-o', 'remount,size=8m', mount]);
      const summary = await exportInferenceResults(libraryOptions(emulator, { file, batchSize: 100 }));
      expect(summary).toMatchObject({ records: 2000, resumed: true });
      const reference = join(dir(), 'full-reference.csv');
      await oneShot(emulator, reference, { batchSize: 100 });
      expect(await sha256(file)).toBe(await sha256(reference));
    } finally {
      execFileSync('umount', [mount]);
    }
  });
});
