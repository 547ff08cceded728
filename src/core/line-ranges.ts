/**
 * A JSONL file cut into byte ranges that start at line starts, for partitions that each read
 * their own lines (`predictInto`'s `ranges`, the queued predictions). Engine-neutral: nothing
 * here knows about queues. Planning reads one small window per cut, never the whole file.
 */
import { open } from 'node:fs/promises';

/** Bytes `[start, end)` of a file; `start` is 0 or just after a newline. */
export interface LineRange {
  start: number;
  end: number;
}

/** Bytes read at a time while looking for the next line start after a cut. */
const WINDOW_BYTES = 64 * 1024;

/**
 * `partitions` ranges covering a file of `size` bytes (its size when planned, which the caller
 * records with the file's identity), each of about `size / partitions` bytes and moved forward
 * to the next line start. A range may be empty when lines are longer than a share (its partition
 * then has nothing to read); the count is always `partitions`, so the plan depends only on the
 * file and K.
 */
export async function planLineRanges(path: string, size: number, partitions: number): Promise<LineRange[]> {
  const starts: number[] = [0];
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(WINDOW_BYTES);
    for (let k = 1; k < partitions; k++) {
      const previous = starts[starts.length - 1];
      const target = Math.max(previous, Math.floor((k * size) / partitions));
      starts.push(target <= 0 ? 0 : await nextLineStart(handle, buffer, target, size));
    }
  } finally {
    await handle.close();
  }
  return starts.map((start, k) => ({ start, end: k + 1 < starts.length ? starts[k + 1] : size }));
}

/** The first line start at or after `at` (> 0): just after the first newline at `at - 1` or later, else `size`. */
async function nextLineStart(handle: import('node:fs/promises').FileHandle, buffer: Buffer, at: number, size: number): Promise<number> {
  for (let from = at - 1; from < size; from += WINDOW_BYTES) {
    const { bytesRead } = await handle.read(buffer, 0, WINDOW_BYTES, from);
    if (bytesRead === 0) break;
    const newline = buffer.subarray(0, bytesRead).indexOf(10);
    if (newline >= 0) return from + newline + 1;
  }
  return size;
}
