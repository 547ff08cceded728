/**
 * Which file a resumable run read: its size, modification time and a SHA-256 of its first and
 * last 64 KiB. A run that resumes from a saved position must refuse a file that is not the one
 * the position belongs to, or it silently mixes two files (a file replaced between a killed run
 * and its re-run by one of the same size and mtime, e.g. a copy with `cp -p` or `rsync -t`).
 * Size and mtime cost one stat; the hash reads at most 128 KiB, whatever the file's size.
 */
import { createHash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** Bytes hashed at each end of the file. */
export const IDENTITY_EDGE_BYTES = 64 * 1024;

/** A regular file's identity, as saved beside a resumable run's position (JSON-safe). */
export interface FileIdentity {
  /** Size in bytes. */
  size: number;
  /** Modification time in nanoseconds since the epoch, as a decimal string (a bigint does not survive JSON). */
  mtimeNs: string;
  /** Hex SHA-256 of the first 64 KiB followed by the last 64 KiB (the whole file when it is at most 128 KiB). */
  edgesSha256: string;
}

/**
 * The identity of the file at `path`, and whether it is a regular file. Anything else (a pipe, a
 * device, `/dev/stdin`) is not opened, so a FIFO without a writer cannot block here; its hash is
 * empty (the identity of a stream means nothing).
 */
export async function readFileIdentity(path: string): Promise<FileIdentity & { isFile: boolean }> {
  const first = await stat(path, { bigint: true });
  if (!first.isFile()) return { size: Number(first.size), mtimeNs: first.mtimeNs.toString(), edgesSha256: '', isFile: false };
  const handle = await open(path, 'r');
  try {
    // Size and mtime of the file opened (which the hash reads), not of the path stat()ed.
    const info = await handle.stat({ bigint: true });
    const size = Number(info.size);
    const head = Math.min(size, IDENTITY_EDGE_BYTES);
    const tailStart = Math.max(head, size - IDENTITY_EDGE_BYTES);
    const hash = createHash('sha256');
    hash.update(await readRange(handle, 0, head));
    hash.update(await readRange(handle, tailStart, size - tailStart));
    return { size, mtimeNs: info.mtimeNs.toString(), edgesSha256: hash.digest('hex'), isFile: info.isFile() };
  } finally {
    await handle.close();
  }
}

/**
 * How `now` differs from the `saved` identity, in words for an error message (`size 10 → 12
 * bytes`), or undefined when it is the same file. A saved identity without a hash (written by an
 * older version) is compared on size and mtime only.
 */
export function identityChange(saved: Partial<FileIdentity>, now: FileIdentity): string | undefined {
  if (saved.size !== now.size) return `size ${saved.size} → ${now.size} bytes`;
  if (saved.mtimeNs !== now.mtimeNs) return 'its modification time is not the recorded one';
  if (saved.edgesSha256 !== undefined && saved.edgesSha256 !== now.edgesSha256) return 'same size and modification time, but its first or last 64 KiB differ';
  return undefined;
}

/** Up to `length` bytes of the open file from `position` (fewer at its end). */
export async function readRange(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/**
 * What tells one file from another at the same path right now (device and inode): an output
 * deleted or replaced while it is being written has another one, or none.
 */
export interface FileInode {
  dev: number;
  ino: number;
}

/** The device and inode of the file at `path`, or undefined when there is none. */
export function inodeOf(path: string): Promise<FileInode | undefined> {
  return stat(path).then(
    ({ dev, ino }) => ({ dev, ino }),
    () => undefined,
  );
}

/**
 * True for a path that names a file descriptor or a device rather than a file (`/dev/stdin`,
 * `/dev/fd/3`, `/proc/self/fd/0`, anything under `/dev` or `/proc`), or a symbolic link to one
 * (`input.json -> /dev/stdin`): the same name is another file in every process, so it cannot
 * identify one, even when it leads to a regular file (`--in /dev/stdin < items.jsonl`). Read such
 * a path as a stream. Links are followed one at a time, not by `realpath()`, which would go
 * through `/proc/self/fd/0` to the file behind stdin.
 */
export function isDescriptorPath(path: string): boolean {
  let current = resolve(path);
  for (let hop = 0; hop < 40; hop++) {
    if (isUnderDevOrProc(current)) return true;
    try {
      current = join(realpathSync(dirname(current)), basename(current));
    } catch {
      return false; // no such directory: not a descriptor either
    }
    if (isUnderDevOrProc(current)) return true;
    let target: string;
    try {
      target = readlinkSync(current);
    } catch {
      return false; // not a link: the file itself
    }
    current = resolve(dirname(current), target);
  }
  return false;
}

function isUnderDevOrProc(absolute: string): boolean {
  return absolute === '/dev' || absolute === '/proc' || absolute.startsWith('/dev/') || absolute.startsWith('/proc/');
}
