/** A full disk (a real tmpfs, filled up): a clear error, no litter, and the saved state intact. */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointFile } from '../src/core/checkpoint.js';
import { EXIT } from '../src/cli/command.js';
import { DiskFullError } from '../src/core/errors.js';
import { startEmulator } from '../src/emulator/index.js';
import { captureCli } from './helpers/cli.js';
import { smallDisk, type SmallDisk } from './helpers/small-disk.js';

let disk: SmallDisk | undefined;
afterEach(async () => {
  await disk?.remove();
  disk = undefined;
});

describe('a full disk', () => {
  it('CheckpointFile.save fails with DiskFullError, removes its temp file and keeps the old state', async () => {
    disk = await smallDisk(64 * 1024);
    if (!disk) return console.warn('not run: mounting a tmpfs needs root on Linux');
    const path = join(disk.dir, 'export.jsonl.state.json');
    const state = new CheckpointFile<{ checkpoint: string; filler?: string }>(path);
    await state.save({ checkpoint: 'first' });
    // Fill the disk to the last byte with something else.
    await writeFile(join(disk.dir, 'filler'), Buffer.alloc(60 * 1024)).catch(() => undefined);
    await writeFile(join(disk.dir, 'filler-2'), Buffer.alloc(16 * 1024)).catch(() => undefined);
    const error = await state.save({ checkpoint: 'second', filler: 'x'.repeat(8192) }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DiskFullError);
    expect((error as DiskFullError).code).toBe('ENOSPC');
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain('free space and run the same command again to resume');
    expect((await readdir(disk.dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(await state.load()).toEqual({ checkpoint: 'first' });
    disk.resize(1024 * 1024);
    await state.save({ checkpoint: 'second', filler: 'x'.repeat(8192) });
    expect((await state.load())?.checkpoint).toBe('second');
  });
});

describe('an export to a full disk', () => {
  it('fails with what to do, leaves no temp file, and the same command resumes once space is back', async () => {
    disk = await smallDisk(256 * 1024);
    if (!disk) return console.warn('not run: mounting a tmpfs needs root on Linux');
    const emulator = await startEmulator({ records: 4000 });
    try {
      const file = join(disk.dir, 'results.jsonl');
      const args = ['export', '--out', file, '--batch-size', '100'];
      const full = captureCli({ env: emulator.env });
      expect(await full.run(...args)).toBe(EXIT.failure);
      expect(full.err()).toContain('free space and run the same command again to resume');
      expect(full.err()).not.toMatch(/^Error: ENOSPC/m);
      expect((await readdir(disk.dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
      disk.resize(16 * 1024 * 1024);
      const again = captureCli({ env: emulator.env });
      expect(await again.run(...args)).toBe(EXIT.ok);
      expect(again.err()).toContain('Resuming from');
      let expected = '';
      for (let i = 0; i < 4000; i++) expected += `${JSON.stringify(JSON.parse(emulator.innerworks.recordJson(i)))}\n`;
      expect(await readFile(file, 'utf8')).toBe(expected);
    } finally {
      await emulator.close();
    }
  });
});
