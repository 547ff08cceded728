/**
 * An exclusive lock beside a state file, so that two runs of the same resumable job never work
 * from one state at once (both would send everything). The lock holds the owner's pid and host;
 * it is written to a temp file first and `link()`ed into place (atomic: exactly one creator wins,
 * and a lock is never seen empty or half written). A process that dies, even by SIGKILL, leaves
 * its lock behind; the next run finds that pid gone and takes the lock over.
 *
 * Taking over is serialized by a second lock, `<lock>.clearing`: its holder re-reads the lock and
 * moves it away only while it still holds the dead owner's text, so two runs clearing at once can
 * never remove the lock a third one has just taken. A lock that cannot be parsed (not written by
 * this code, or damaged) counts as held unless it is older than a few seconds.
 */
import { randomBytes } from 'node:crypto';
import { link, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { ConfigError, InferenceStreamsError } from './errors.js';
import { basename, dirname, join } from 'node:path';
import { processAlive, writerGone, writerTag } from './process-alive.js';

/** Age after which an unparsable lock, or a clearing lock, counts as left by a dead process. */
const STALE_AFTER_MS = 5_000;

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
  /** The pid of the process holding it (0 when the lock does not say). */
  readonly pid: number;
  constructor(lockFile: string, owner: LockOwner, what: string) {
    const who = owner.pid > 0 ? `pid ${owner.pid}` : 'a process that has not said its pid';
    const where = owner.host === hostname() ? who : `${who} on host ${owner.host}`;
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
 * names the job in that message (e.g. `an import of items.json`). A lock that cannot be created
 * (a read-only directory) is a `ConfigError` of `stateFile`: the lock lives beside the state.
 */
export async function acquireLock(path: string, what: string): Promise<FileLock> {
  try {
    return await takeLock(path, what);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new ConfigError('stateFile', `the lock ${path} beside the state file cannot be created or read (${code}): put the state file in a directory this process may write to (option stateFile, --state)`);
    }
    throw error;
  }
}

async function takeLock(path: string, what: string): Promise<FileLock> {
  await removeDeadTemps(path);
  const mine: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const text = `${JSON.stringify(mine)}\n`;
  // A few rounds: each one either takes the lock, finds it held, or clears a dead owner's lock.
  for (let round = 0; round < 20; round++) {
    if (await createWhole(path, text)) {
      // Ours only if it still holds our text (nothing may move a live lock, but say so if it did).
      if ((await readFile(path, 'utf8').catch(() => undefined)) === text) return heldLock(path, text);
      continue;
    }
    const found = await readOwner(path);
    if (found === undefined) continue; // released meanwhile: try again
    if (found.alive ?? ownerAlive(found.owner)) throw new LockedError(path, found.owner, what);
    if (!(await clearStale(path, found.text))) await sleep(10 + Math.random() * 40);
  }
  const found = await readOwner(path);
  throw new LockedError(path, found?.owner ?? { pid: 0, host: hostname(), since: 'unknown' }, what);
}

/** Create `path` holding `text`, whole from its first moment (temp file + link); false when it exists. */
async function createWhole(path: string, text: string): Promise<boolean> {
  const temp = `${path}.${randomBytes(4).toString('hex')}.${writerTag()}.tmp`;
  await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

/** Remove the temp files of `path` and its clearing lock that a writer killed before linking left (best effort). */
async function removeDeadTemps(path: string): Promise<void> {
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  for (const name of names) {
    const temp = /^(.*)\.[0-9a-f]{8}\.([^/]+)\.tmp$/.exec(name);
    if (!temp || (temp[1] !== basename(path) && temp[1] !== `${basename(path)}.clearing`) || !writerGone(temp[2])) continue;
    await rm(join(dirname(path), name), { force: true }).catch(() => undefined);
  }
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

/** The lock's owner and text (`alive` is set when it names no owner), or undefined when there is no lock. */
async function readOwner(path: string): Promise<{ owner: LockOwner; text: string; alive?: boolean } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    if (Number.isInteger(owner.pid) && typeof owner.host === 'string') return { owner: { pid: owner.pid!, host: owner.host, since: String(owner.since ?? 'unknown') }, text };
  } catch {
    // Not written by this code (a lock is linked into place whole), or damaged: see below.
  }
  // Without an owner to check: held by someone alive, unless untouched for a while.
  const modified = await stat(path).then((info) => info.mtimeMs, () => undefined);
  if (modified === undefined) return undefined;
  return { owner: { pid: 0, host: hostname(), since: new Date(modified).toISOString() }, text, alive: Date.now() - modified <= STALE_AFTER_MS };
}

/** True unless the owner is on this host and its process is gone (another host's process cannot be checked). */
function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  return processAlive(owner.pid);
}

/**
 * Remove the lock if it still holds `staleText` (a dead owner's), under the clearing lock so that
 * only one run clears at a time. False when another run is clearing it now (try again shortly).
 */
async function clearStale(path: string, staleText: string): Promise<boolean> {
  const guard = `${path}.clearing`;
  const guardText = `${JSON.stringify({ pid: process.pid, host: hostname(), nonce: randomBytes(8).toString('hex') })}\n`;
  if (!(await createWhole(guard, guardText))) {
    // A clearer takes milliseconds: a clearing lock this old was left by one that died.
    const modified = await stat(guard).then((info) => info.mtimeMs, () => undefined);
    if (modified !== undefined && Date.now() - modified > STALE_AFTER_MS) await rm(guard, { force: true });
    return false;
  }
  try {
    // Under the guard nobody else moves the lock, and a live owner removes only its own: if it
    // still holds the dead owner's text, it will until we move it.
    if ((await readFile(path, 'utf8').catch(() => undefined)) !== staleText) return true;
    await rm(path, { force: true });
    return true;
  } finally {
    if ((await readFile(guard, 'utf8').catch(() => undefined)) === guardText) await rm(guard, { force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
