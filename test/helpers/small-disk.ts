/**
 * A tiny tmpfs mounted in a temp dir, to see what a full disk does to real writes. Mounting needs
 * root (CI and the dev machines run as root); `smallDisk()` resolves to undefined where it cannot
 * mount, and the caller says so in its output rather than pretending to have tested.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  dir: string;
  /** Give the disk more room (as a user freeing space would), keeping its files. */
  resize(bytes: number): void;
  remove(): Promise<void>;
}

export async function smallDisk(bytes: number): Promise<SmallDisk | undefined> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'small-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    resize: (size) => execFileSync('mount', ['-o', `remount,size=${size}`, dir], { stdio: 'ignore' }),
    remove: async () => {
      execFileSync('umount', [dir], { stdio: 'ignore' });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
