/**
 * An exclusive lock beside a state file, so that two runs of the same resumable job never work
 * from one state at once (both would send everything). The lock is a file created with `wx`
 * (atomic: exactly one creator wins) holding the owner's pid and host. A process that dies,
 * even by SIGKILL, leaves its lock behind; the next run finds that pid gone and takes the lock
 * over. Taking over is itself guarded: the stale lock is renamed away first (one rename wins),
 * and a lock renamed by mistake, one a live run created meanwhile, is put back.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { InferenceStreamsError } from './errors.js';
import { processAlive } from './process-alive.js';

/** What a lock file holds. */
interface LockOwner {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
}

/** Another live process holds the lock. */
export class LockedError extends InferenceStreamsError {
  /** The lock file. */
  readonly lockFile: string;
  /** The pid of the process holding it. */
  readonly pid: number;
  constructor(lockFile: string, owner: LockOwner, what: string) {
    const where = owner.host === hostname() ? `pid ${owner.pid}` : `pid ${owner.pid} on host ${owner.host}`;
    super(
      `${what} is already running (${where}, since ${owner.since}; lock ${lockFile}): two runs at once would send everything twice. ` +
        `Wait for it to finish or stop it, then run again. If no such process is running, delete ${lockFile}`,
    );
    this.lockFile = lockFile;
    this.pid = owner.pid;
  }
}

/** A held lock. */
export interface FileLock {
  readonly path: string;
  /** Remove the lock (only if it is still ours). Safe to call twice. */
  release(): Promise<void>;
}

/**
 * Take the lock at `path`, or throw `LockedError` naming the live process that holds it. `what`
 * names the job in that message (e.g. `an import of items.json`).
 */
export async function acquireLock(path: string, what: string): Promise<FileLock> {
  const mine: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const text = `${JSON.stringify(mine)}\n`;
  // A few rounds: each one either takes the lock, finds it held, or clears a dead owner's lock.
  for (let round = 0; round < 5; round++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(text);
      } finally {
        await handle.close();
      }
      return heldLock(path, text);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await readOwner(path);
    if (owner === undefined) continue; // released (or being written) meanwhile: try again
    if (ownerAlive(owner)) throw new LockedError(path, owner, what);
    await clearStale(path, owner);
  }
  const owner = await readOwner(path);
  throw new LockedError(path, owner ?? { pid: 0, host: hostname(), since: 'unknown' }, what);
}

function heldLock(path: string, text: string): FileLock {
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      // Never remove a lock that is not ours (e.g. deleted by hand, then taken by another run).
      const now = await readFile(path, 'utf8').catch(() => undefined);
      if (now === text) await rm(path, { force: true });
    },
  };
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    if (Number.isInteger(owner.pid) && typeof owner.host === 'string') return { pid: owner.pid!, host: owner.host, since: String(owner.since ?? 'unknown') };
  } catch {
    // Empty or half written: its creator is between open() and write(), or died there.
  }
  // A lock without a readable owner: a creator that died between open() and write() (or one
  // writing right now, which is a matter of microseconds): treat it as held by nobody alive
  // only if it stays unreadable.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const again = await readFile(path, 'utf8').catch(() => undefined);
  if (again === undefined) return undefined;
  if (again !== text) return readOwner(path);
  return { pid: 0, host: hostname(), since: 'unknown' };
}

/** True unless the owner is on this host and its process is gone (another host's process cannot be checked). */
function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  return processAlive(owner.pid);
}

/** Move a dead owner's lock away; if what was moved turns out to be a live run's new lock, put it back. */
async function clearStale(path: string, stale: LockOwner): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another run cleared it first
    throw error;
  }
  const moved = await readOwner(aside);
  if (moved !== undefined && (moved.pid !== stale.pid || moved.host !== stale.host) && ownerAlive(moved)) {
    // Another run took the lock between our read and our rename: give it back (link fails if a third run has one now).
    await link(aside, path).catch(() => undefined);
  }
  await rm(aside, { force: true });
}
