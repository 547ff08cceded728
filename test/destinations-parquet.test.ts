// The Parquet destination: `inference-streams export --out x.parquet` (one file in the end) and
// `--out DIR/` (a dataset of parts) against the emulator with 20 % faults, SIGKILLed at random
// and resumed; after every kill the state counts only complete part files, and in the end DuckDB
// reads exactly N rows, each request id once, equal to a one-shot export. Typed columns;
// parquetWriter() round-trips awkward text.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { EXIT } from '../src/cli/command.js';
import { innerworksMapping } from '../src/destinations/columns.js';
import { parquetWriter } from '../src/destinations/index.js';
import { exportInferenceResults } from '../src/innerworks/index.js';
import { AWKWARD_TEXT, FAULTS, duckdbRows, libraryOptions, oneShot, sqlString } from './helpers/file-exports.js';
import { captureCli } from './helpers/cli.js';
import { emulatorPerTest } from './helpers/destination-tests.js';
import { killLoop, usePrivateBuild } from './helpers/kill-loop.js';
import { tempDir } from './helpers/temp-dir.js';

const startEmulator = emulatorPerTest();
const cli = usePrivateBuild('destinations-parquet');
const dir = tempDir('destinations-parquet-');

interface ParquetState {
  parts: string[];
  partitions: { records: number }[];
}

/** Rows in `a` not in `b` plus rows in `b` not in `a` (duplicates counted), 0 when equal. */
async function differingRows(a: string, b: string): Promise<number> {
  const [[n]] = await duckdbRows(`SELECT (SELECT count(*) FROM (FROM ${a} EXCEPT ALL FROM ${b})) + (SELECT count(*) FROM (FROM ${b} EXCEPT ALL FROM ${a}))`);
  return Number(n);
}

/** After a kill: every part the state lists is complete, and together they hold exactly the records it counts. */
async function countedPartsHoldCountedRecords(state: string, partsDir: string): Promise<void> {
  const saved = await readFile(state, 'utf8').then((text) => JSON.parse(text) as ParquetState, () => undefined);
  if (!saved || saved.parts.length === 0) return;
  const files = saved.parts.map((name) => sqlString(join(partsDir, name)));
  const [[rows]] = await duckdbRows(`SELECT count(*) FROM read_parquet([${files.join(', ')}])`);
  expect(Number(rows)).toBe(saved.partitions.reduce((sum, part) => sum + part.records, 0));
}

describe('Parquet destination', () => {
  for (const layout of ['file', 'dataset'] as const) {
    it(`survives 20 % faults and 5+ SIGKILLs of the CLI (${layout === 'file' ? 'x.parquet' : 'DIR/'}): exactly N rows, each request id once, equal to a one-shot export`, async () => {
      const records = 3000;
      const emulator = await startEmulator({ records, latencyMs: 5, faults: FAULTS });
      const out = layout === 'file' ? join(dir(), 'killed.parquet') : `${join(dir(), 'killed-dataset')}/`;
      const state = layout === 'file' ? `${out}.state.json` : join(out, '.state.json');
      const partsDir = layout === 'file' ? `${out}.parts` : out;
      const result = await killLoop({
        cli: cli(),
        args: ['export', '--out', out, '--batch-size', '40', '--rows-per-part', '200', '--json'],
        env: { ...emulator.env },
        minKills: 5,
        killAfterMs: () => 400 + Math.random() * 900,
        afterKill: () => countedPartsHoldCountedRecords(state, partsDir),
      });
      expect(result.kills).toBeGreaterThanOrEqual(5);
      expect(JSON.parse(result.stdout)).toMatchObject({ records });
      expect(emulator.stats()['innerworks.batch'].faults).toBeGreaterThan(0);

      const table = layout === 'file' ? `read_parquet(${sqlString(out)})` : `read_parquet(${sqlString(join(out, '*.parquet'))})`;
      const [[count, ids]] = await duckdbRows(`SELECT count(*), count(DISTINCT request_id) FROM ${table}`);
      expect([Number(count), Number(ids)]).toEqual([records, records]);
      const reference = join(dir(), `one-shot-${layout}.parquet`);
      await oneShot(emulator, reference);
      expect(await differingRows(table, `read_parquet(${sqlString(reference)})`)).toBe(0);
      if (layout === 'file') expect((await readdir(dir())).filter((name) => name.startsWith('killed.parquet.'))).toEqual(['killed.parquet.state.json']);
      else expect((await readdir(out)).filter((name) => !name.startsWith('.')).every((name) => /^part-p01-\d{6}\.parquet$/.test(name))).toBe(true);
    });
  }

  it('types the columns (TIMESTAMP, BOOLEAN, JSON text) with the values of the records; partitions merge in order; a later run adds only new records', async () => {
    const emulator = await startEmulator({ records: 700, faults: FAULTS });
    const file = join(dir(), 'typed.parquet');
    const startTime = emulator.innerworks.timestampOf(0);
    const endTime = emulator.innerworks.timestampOf(600);
    const summary = await exportInferenceResults(libraryOptions(emulator, { file, batchSize: 50, startTime, endTime, partitions: 3, rowsPerPart: 70 }));
    expect(summary).toMatchObject({ files: [file], records: 600 });
    const schema = await duckdbRows(`SELECT name, type, converted_type FROM parquet_schema(${sqlString(file)}) WHERE name IN ('timestamp', 'vpn_is_enabled', 'extras', 'request_id')`);
    expect(Object.fromEntries(schema.map(([name, type, converted]) => [name, `${type}/${converted}`]))).toEqual({
      request_id: 'BYTE_ARRAY/UTF8',
      timestamp: 'INT64/TIMESTAMP_MICROS',
      vpn_is_enabled: 'BOOLEAN/null',
      // JSON text as a string: DuckDB's JSON type refuses a lone surrogate's escape (columns.ts).
      extras: 'BYTE_ARRAY/UTF8',
    });
    const mapping = innerworksMapping();
    const rows = await duckdbRows(`SELECT request_id, epoch_ms(timestamp), vpn_is_enabled, state_us FROM read_parquet(${sqlString(file)})`);
    expect(rows).toHaveLength(600);
    for (const i of [0, 299, 599]) {
      const expected = mapping.row(JSON.parse(emulator.innerworks.recordJson(i)) as object);
      expect(rows[i]).toEqual([expected[0], BigInt(expected[2] as number), expected[7], expected[13]]);
    }

    const open = join(dir(), 'open.parquet');
    await exportInferenceResults(libraryOptions(emulator, { file: open, batchSize: 100 }));
    emulator.innerworks.append(25);
    const again = await exportInferenceResults(libraryOptions(emulator, { file: open, batchSize: 100 }));
    expect(again).toMatchObject({ records: 725, recordsThisRun: 25, resumed: true });
    const [[count, ids]] = await duckdbRows(`SELECT count(*), count(DISTINCT request_id) FROM read_parquet(${sqlString(open)})`);
    expect([Number(count), Number(ids)]).toEqual([725, 725]);
  });

  it('parquetWriter(): quotes, backslashes, line breaks and non-ASCII round-trip through DuckDB; null stays null; the whole record kept on request', async () => {
    const file = join(dir(), 'writer.parquet');
    const objects = AWKWARD_TEXT.map((text, i) => ({ id: i, text, at: new Date(Date.UTC(2024, 0, 1, 0, 0, i)), flag: i % 2 === 0 }));
    objects.push({ id: 99, text: null as unknown as string, at: new Date(0), flag: false });
    await pipeline(Readable.from(objects), parquetWriter({ file, keepRecord: true }));
    const rows = await duckdbRows(`SELECT id, text, epoch_ms("at"), flag, record FROM read_parquet(${sqlString(file)}) ORDER BY id`);
    expect(rows.map(([, text]) => text)).toEqual([...AWKWARD_TEXT, null]);
    expect(rows[3].slice(2, 4)).toEqual([BigInt(Date.UTC(2024, 0, 1, 0, 0, 3)), false]);
    expect(JSON.parse(rows[5][4] as string)).toEqual(JSON.parse(JSON.stringify(objects[5])));
    expect((await readdir(dir())).filter((name) => name.includes('writer.parquet.'))).toEqual([]);
  });

  it('predict --out x.parquet / x.csv: one prediction row per input, the same values as the JSONL output', async () => {
    const emulator = await startEmulator({});
    const input = join(dir(), 'docs.jsonl');
    await writeFile(input, ['Hello "there", café', 'refund please', 'line\nbreak'].map((text, i) => JSON.stringify({ id: `d${i}`, messages: [{ body: { text } }] })).join('\n'));
    const outputs: Record<string, string> = {};
    for (const ext of ['jsonl', 'csv', 'parquet']) {
      outputs[ext] = join(dir(), `predictions.${ext}`);
      const run = captureCli({ env: { ...emulator.env } });
      expect(await run.run('predict', '--project', 'acme', '--dataset', 'emails', '--in', input, '--out', outputs[ext], ...(ext === 'jsonl' ? [] : ['--keep-input']))).toBe(EXIT.ok);
    }
    type Line = { input: { id: string }; labels: { fullName: string; probability: number }[]; entities: unknown[]; sentiment: number | null; model: { version: number } };
    const lines = (await readFile(outputs.jsonl, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Line);
    // The columns of a prediction row (README "Prediction columns"), from the JSONL prediction.
    const asRow = (p: Line) => {
      const top = p.labels.reduce((best, label) => (label.probability > best.probability ? label : best));
      return [p.input.id, top.fullName, top.probability, JSON.stringify(p.labels), JSON.stringify(p.entities), p.sentiment, BigInt(p.model.version), JSON.stringify(p.input)];
    };
    const fromParquet = await duckdbRows(`SELECT * EXCLUDE (extras) FROM read_parquet(${sqlString(outputs.parquet)})`);
    expect(fromParquet).toEqual(lines.map(asRow));
    const fromCsv = parse(await readFile(outputs.csv), { columns: true }) as Record<string, string>[];
    expect(Object.keys(fromCsv[0])).toEqual(['id', 'top_label', 'top_probability', 'labels', 'entities', 'sentiment', 'model_version', 'input', 'extras']);
    expect(fromCsv.map((row) => JSON.parse(row.input) as unknown)).toEqual(lines.map((line) => line.input));
    expect(fromCsv.map((row) => Object.values(row).slice(0, 7))).toEqual(lines.map((line) => asRow(line).slice(0, 7).map((value) => (value === null ? '' : String(value)))));
  });
});
