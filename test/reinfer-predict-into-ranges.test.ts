// predictInto over byte ranges (the partitions of a queued predict): planLineRanges cuts at line
// starts, each partition reads only its range and commits its own position, every input once.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planLineRanges } from '../src/core/line-ranges.js';
import { readJsonlFrom } from '../src/core/jsonl-positions.js';
import { predictInto } from '../src/reinfer/index.js';
import { emulatorPerTest } from './helpers/destination-tests.js';
import { duckdbRows, sqlString } from './helpers/file-exports.js';
import { tempDir } from './helpers/temp-dir.js';
import { conn, docs } from './reinfer-helpers.js';

const startEmulator = emulatorPerTest();
const dir = tempDir('predict-ranges-');

describe('planLineRanges', () => {
  it('cuts a file into K consecutive ranges that start at line starts; long lines leave empty ranges', async () => {
    const file = join(dir(), 'lines.jsonl');
    const text = `${docs(100).map((d) => JSON.stringify(d)).join('\n')}\n`;
    await writeFile(file, text);
    const bytes = Buffer.from(text);
    const ranges = await planLineRanges(file, bytes.length, 6);
    expect(ranges).toHaveLength(6);
    expect(ranges[0].start).toBe(0);
    expect(ranges[5].end).toBe(bytes.length);
    for (let i = 1; i < 6; i++) {
      expect(ranges[i].start).toBe(ranges[i - 1].end);
      expect(bytes[ranges[i].start - 1]).toBe(10);
    }
    let lines = 0;
    for (const range of ranges) for await (const _ of readJsonlFrom(file, { from: { line: 0, offset: range.start }, to: range.end })) lines++;
    expect(lines).toBe(100);

    const two = join(dir(), 'two.jsonl');
    await writeFile(two, '{"a":1}\n{"b":2}');
    const few = await planLineRanges(two, 15, 8);
    expect(few).toHaveLength(8);
    expect(few.filter((r) => r.end > r.start)).toEqual([{ start: 0, end: 8 }, { start: 8, end: 15 }]);
    expect(few.reduce((sum, r) => sum + r.end - r.start, 0)).toBe(15);
  });
});

describe('predictInto with ranges', () => {
  it('each partition predicts its range once into the shared table; a rerun sends nothing; another plan is refused', async () => {
    const emulator = await startEmulator({ port: 0 });
    const input = join(dir(), 'docs.jsonl');
    await writeFile(input, `${docs(97).map((d) => JSON.stringify(d)).join('\n')}\n`);
    const size = (await readFile(input)).length;
    const ranges = await planLineRanges(input, size, 4);
    const database = join(dir(), 'p.duckdb');
    const common = { ...conn(emulator), input, to: `duckdb:${database}`, table: 'preds', batchSize: 5, ranges };
    let records = 0;
    for (let partition = 3; partition >= 0; partition--) {
      const summary = await predictInto({ ...common, partition });
      records += summary.records;
    }
    expect(records).toBe(97);
    const again = await predictInto({ ...common, partition: 2 });
    expect(again.stats.documents).toBe(0);
    expect(again.resumed).toBe(true);
    const [[rows, ids]] = await duckdbRows(`ATTACH ${sqlString(database)} AS p (READ_ONLY); SELECT count(*), count(DISTINCT id) FROM p.preds`);
    expect([Number(rows), Number(ids)]).toEqual([97, 97]);
    await expect(predictInto({ ...common, ranges: await planLineRanges(input, size, 3), partition: 0 })).rejects.toThrow(/3|partition/);
    await expect(predictInto({ ...common, ranges: [{ start: 0, end: 5 }, { start: 6, end: size }] })).rejects.toThrow(/ranges/);
    await expect(predictInto({ ...common, to: undefined, file: join(dir(), 'x.jsonl'), partition: 0 })).rejects.toThrow(/database/);
  });

  it('a bad line in a partition is named by its line in the range and the range', async () => {
    const emulator = await startEmulator({ port: 0 });
    const input = join(dir(), 'bad.jsonl');
    const lines = docs(10).map((d) => JSON.stringify(d));
    lines[7] = '{oops';
    await writeFile(input, `${lines.join('\n')}\n`);
    const bytes = await readFile(input);
    const cut = bytes.indexOf(Buffer.from(`${lines[5]}\n`));
    const ranges = [{ start: 0, end: cut }, { start: cut, end: bytes.length }];
    const options = { ...conn(emulator), input, to: `duckdb:${join(dir(), 'bad.duckdb')}`, table: 'preds', batchSize: 2, ranges };
    expect((await predictInto({ ...options, partition: 0 })).records).toBe(5);
    await expect(predictInto({ ...options, partition: 1 })).rejects.toThrow(`(partition 1, from byte ${cut}):3: `);
    await expect(predictInto({ ...options, partition: 1 })).rejects.toMatchObject({ line: 3 });
  });
});
