// The page encoder of the PostgreSQL destination (BinaryCopyEncoder): one buffer kept and reused
// from page to page, grown when a page needs more. Each page's bytes are decoded here by the
// format's own rules (PostgreSQL's binary COPY: header, int16 field count, int32 length + bytes per
// field, int16 -1 trailer) and must give back every cell, whatever the page before it held.
// The end-to-end path into a real server is in destinations-postgres*.test.ts.
import { describe, expect, it } from 'vitest';
import type { CellValue, ColumnType } from '../src/destinations/columns.js';
import { BinaryCopyEncoder, binaryCopyChunks } from '../src/destinations/pg-copy-binary.js';

const PG_EPOCH_MS = 946_684_800_000;
const TYPES: ColumnType[] = ['string', 'json', 'boolean', 'double', 'timestamp', 'integer', 'string'];

/** The cells of a binary COPY stream, typed back as columns.ts made them. */
function decode(bytes: Buffer, types: readonly ColumnType[]): CellValue[][] {
  expect(bytes.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
  expect(bytes.readInt32BE(11)).toBe(0);
  expect(bytes.readInt32BE(15)).toBe(0);
  let offset = 19;
  const rows: CellValue[][] = [];
  for (;;) {
    const count = bytes.readInt16BE(offset);
    offset += 2;
    if (count === -1) break;
    expect(count).toBe(types.length);
    const row: CellValue[] = [];
    for (let i = 0; i < count; i++) {
      const length = bytes.readInt32BE(offset);
      offset += 4;
      if (length === -1) {
        row.push(null);
        continue;
      }
      const field = bytes.subarray(offset, offset + length);
      offset += length;
      const type = types[i];
      if (type === 'string' || type === 'json') row.push(field.toString('utf8'));
      else if (type === 'boolean') row.push(field[0] === 1);
      else if (type === 'double') row.push(field.readDoubleBE(0));
      else if (type === 'timestamp') row.push(Number(field.readBigInt64BE(0) / 1000n) + PG_EPOCH_MS);
      else row.push(Number(field.readBigInt64BE(0)));
    }
    rows.push(row);
  }
  expect(offset).toBe(bytes.length);
  return rows;
}

/** Rows of every column type, with multi-byte and astral text, empty text, nulls and extreme numbers. */
function rows(count: number, seed: number): CellValue[][] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + seed;
    return [
      n % 7 === 0 ? null : `${'x'.repeat(n % 300)}€😀ü${n}`,
      n % 3 === 0 ? '{"a":"\\u0000","b":"\\ud800"}' : '{}',
      n % 2 === 0,
      n % 5 === 0 ? -0.1 : n * 1.5e300,
      n % 4 === 0 ? -62_135_596_800_000 : Date.UTC(2024, 0, 1) + n * 1_000_003,
      n % 2 === 0 ? Number.MAX_SAFE_INTEGER - n : Number.MIN_SAFE_INTEGER + n,
      n % 11 === 0 ? '' : 'ü'.repeat(n % 700),
    ];
  });
}

describe('BinaryCopyEncoder', () => {
  it('encodes each page exactly, reusing and growing its one buffer: a big page, a small one, an empty one, a bigger one', () => {
    const encoder = new BinaryCopyEncoder(TYPES);
    for (const [count, seed] of [
      [2000, 0],
      [3, 7],
      [0, 0],
      [1, 1],
      [6000, 13],
    ] as const) {
      const page = rows(count, seed);
      const bytes = encoder.encode(page, (row) => row);
      expect(decode(bytes, TYPES)).toEqual(page);
      // The same bytes as the streaming encoder of the Writable (postgresWriter).
      expect(bytes.equals(Buffer.concat([...binaryCopyChunks(page, (row) => row, TYPES)]))).toBe(true);
    }
  });
});
