// Writes that stop part-way: `writeFully` finishes a short write (which Node reports without an
// error on a nearly full disk) and turns a write that makes no progress into a DiskFullError; a
// Parquet stage whose write failed part-way is never made a part, so the state never counts rows
// of a page whose position it does not hold.
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskFullError } from '../src/core/errors.js';
import { writeFully } from '../src/destinations/appending-file.js';
import { innerworksMapping } from '../src/destinations/columns.js';
import { createParquetDestination } from '../src/destinations/parquet.js';
import { duckdbRows, sqlString } from './helpers/file-exports.js';
import { position, sampleRecord } from './helpers/destination-tests.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('destinations-short-writes-');

/** `handle`, but each write writes at most `most` bytes (0: none), as `write(2)` may. */
function shortWriting(handle: FileHandle, most: number): FileHandle {
  return new Proxy(handle, {
    get(target, name) {
      if (name !== 'write') return Reflect.get(target, name, target) as unknown;
      return (buffer: Uint8Array, offset: number, length: number, at: number | null) => target.write(buffer, offset, Math.min(length, most), at);
    },
  });
}

describe('writeFully', () => {
  it('writes every byte, at a position and at the current offset, however short each write is', async () => {
    const path = join(dir(), 'short.txt');
    const handle = await open(path, 'w');
    try {
      const short = shortWriting(handle, 3);
      await writeFully(short, 'hello, wörld\n', null, path);
      await writeFully(short, Buffer.from('0123456789'), 20, path);
      await writeFully(short, 'HELLO', 0, path);
    } finally {
      await handle.close();
    }
    const text = await readFile(path);
    expect(text.subarray(0, 14).toString()).toBe('HELLO, wörld\n');
    expect(text.subarray(20).toString()).toBe('0123456789');
  });

  it('turns a write of zero bytes into a DiskFullError naming the file', async () => {
    const path = join(dir(), 'zero.txt');
    const handle = await open(path, 'w');
    try {
      const error = await writeFully(shortWriting(handle, 0), 'some bytes', 0, path).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DiskFullError);
      expect((error as DiskFullError).path).toBe(path);
    } finally {
      await handle.close();
    }
  });
});

describe('Parquet destination after a write that failed part-way', () => {
  it('close(false) makes no part of the failed stage: the parts hold exactly the records the state counts', async () => {
    const folder = join(dir(), 'dataset/');
    const context = { mapping: innerworksMapping() };
    const destination = createParquetDestination({ file: folder, rowsPerPart: 1000 }, context);
    await destination.open({ exportId: 'file', initial: [position(0, undefined)] });
    await destination.write(0, [sampleRecord(1), sampleRecord(2)], position(2, 'c1'));
    // The next page's write gets its first row onto the disk, then the disk is full.
    const stages = (destination as unknown as { stages: { handle: FileHandle }[] }).stages;
    const real = stages[0].handle;
    stages[0].handle = new Proxy(real, {
      get(target, name) {
        if (name !== 'write') return Reflect.get(target, name, target) as unknown;
        return async (data: Uint8Array | string, offset = 0, length?: number) => {
          const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.subarray(offset, offset + (length ?? data.length - offset)));
          await target.write(bytes.subarray(0, bytes.indexOf('\n') + 1));
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        };
      },
    });
    const failed = await destination.write(0, [sampleRecord(3), sampleRecord(4)], position(4, 'c2')).catch((caught: unknown) => caught);
    expect(failed).toBeInstanceOf(DiskFullError);
    await destination.close(false);

    // No state at all: nothing was counted (the next run fetches every page again).
    const state = await readFile(join(folder, '.state.json'), 'utf8').then(
      (text) => JSON.parse(text) as { parts: string[]; partitions: { records: number }[] },
      () => ({ parts: [], partitions: [{ records: 0 }] }),
    );
    const counted = state.partitions[0].records;
    const rows = state.parts.length === 0 ? 0 : Number((await duckdbRows(`SELECT count(*) FROM read_parquet([${state.parts.map((name) => sqlString(join(folder, name))).join(', ')}])`))[0][0]);
    expect(rows).toBe(counted);
  });
});
