// The DuckDB destination stages each page as CSV rows and has DuckDB's CSV reader insert them (in
// its host process) where it used to append each value: a differential test that the table holds
// exactly the values the column mapping made, cell by cell and type by type, for seeded random
// pages of awkward values and for the hostile page of issue 15.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { innerworksMapping, objectMapping, type CellValue, type ColumnMapping } from '../src/destinations/columns.js';
import { createDuckdbDestination } from '../src/destinations/duckdb.js';
import { queryDuckdb } from './helpers/destination-tests.js';
import { seededRandom } from '../src/emulator/http-util.js';
import { AWKWARD_TEXT } from './helpers/file-exports.js';
import { hostileRecordTexts } from './helpers/hostile-page.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('duckdb-staged-');

const FRAGMENTS = [...AWKWARD_TEXT, '\r', '\n', '"', '""', ',', '\\N', 'NULL', 'null', '\t', 'ü€😀', '日本語', '=1+2', ' ', "'", '\u2028', '\ufeff'];
const DOUBLES = [-0, 0, 0.1, -1.5e300, 1.7976931348623157e308, 5e-324, -1e-7, 123456789.123456789, 2 ** 53 + 2, 1e21, 1e-21];
const INTEGERS = [0, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 31, -(2 ** 31) - 1];
const TIMESTAMPS = ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '1970-01-01T00:00:00Z', '1969-12-31T23:59:59.999Z', '2024-02-29T12:34:56.789+05:30', '2000-01-01T00:00:00.5-08:00'];

function randomRecords(count: number, seed: number): object[] {
  const random = seededRandom(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
  const text = (): string => {
    let out = '';
    const parts = Math.floor(random() * 5);
    for (let i = 0; i < parts; i++) out += random() < 0.05 ? 'x'.repeat(Math.floor(random() * 20_000)) : pick(FRAGMENTS);
    return out;
  };
  // Each field is null or missing now and then: both must come back as SQL NULL.
  const maybe = <T>(make: () => T): T | null | undefined => (random() < 0.1 ? null : random() < 0.05 ? undefined : make());
  return Array.from({ length: count }, (_, i) => ({
    id: `r${seed}-${i}`,
    text: maybe(text),
    flag: maybe(() => random() < 0.5),
    ratio: maybe(() => (random() < 0.5 ? pick(DOUBLES) : (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20))),
    count: maybe(() => (random() < 0.5 ? pick(INTEGERS) : Math.floor((random() - 0.5) * 2 ** 40))),
    at: maybe(() => (random() < 0.5 ? pick(TIMESTAMPS) : new Date(Math.floor(random() * 253_402_300_799_999)).toISOString())),
    doc: maybe(() => ({ text: text(), list: [text(), random()] })),
    // No column takes it: extras.
    ...(random() < 0.3 ? { other: text() } : {}),
  }));
}

/** What the table must hold for `row`, as the read-back query returns it. */
function expected(mapping: ColumnMapping, row: CellValue[]): unknown[] {
  return row.map((value, i) => {
    if (value === null) return null;
    const type = mapping.columns[i].type;
    if (type === 'timestamp') return BigInt(value as number) * 1000n;
    if (type === 'integer') return BigInt(value as number);
    return value;
  });
}

/** Write `records` through the DuckDB destination in `pageSize` pages, read the table back, compare with the mapping's rows. */
async function roundTrip(mapping: ColumnMapping, records: readonly object[], pageSize: number, name: string): Promise<void> {
  const database = join(dir(), `${name}.duckdb`);
  const destination = createDuckdbDestination({ database, table: name }, { mapping });
  await destination.open({ exportId: name, initial: [{ records: 0, pages: 0, done: false }] });
  for (let first = 0; first < records.length; first += pageSize) {
    const page = records.slice(first, first + pageSize);
    await destination.write(0, page, { records: first + page.length, pages: first / pageSize + 1, checkpoint: `c${first}`, done: false });
  }
  await destination.close(true);
  // Text is read back behind a '#': the driver's UTF-8 decoding drops a BOM that starts a value (the table holds it).
  const columns = mapping.columns.map((column) =>
    column.type === 'timestamp' ? `epoch_us("${column.name}")` : column.type === 'string' || column.type === 'json' ? `'#' || "${column.name}"` : `"${column.name}"`,
  );
  const read = (await queryDuckdb(database, `SELECT ${columns.map((sql, i) => `${sql} AS c${i}`).join(', ')} FROM ${name} ORDER BY rowid`)).map((row) =>
    Object.values(row).map((value) => (typeof value === 'string' ? value.slice(1) : value)),
  );
  const want = records.map((record) => expected(mapping, mapping.row(record)));
  expect(read.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect([i, read[i]]).toEqual([i, want[i]]);
}

describe('DuckDB destination, pages staged as CSV for DuckDB to read', () => {
  it('stores exactly the mapped values of seeded random pages of awkward text, extreme numbers and timestamps, nulls and extras', async () => {
    const columns = [
      { name: 'id', type: 'string' },
      { name: 'text', type: 'string' },
      { name: 'flag', type: 'boolean' },
      { name: 'ratio', type: 'double' },
      { name: 'count', type: 'integer' },
      { name: 'at', type: 'timestamp' },
      { name: 'doc', type: 'json' },
    ] as const;
    const mapping = objectMapping(columns, {});
    for (const seed of [1, 2, 3]) await roundTrip(mapping, randomRecords(1500, seed), 400, `random_${seed}`);
  });

  it('stores exactly the mapped values of the hostile page (NUL, lone surrogates, timestamps no column holds, __proto__), with the whole record kept', async () => {
    const records = hostileRecordTexts().map((text) => JSON.parse(text) as object);
    await roundTrip(innerworksMapping({ keepRecord: true }), records, 7, 'hostile');
  });
});
