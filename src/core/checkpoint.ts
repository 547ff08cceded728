/**
 * A small JSON state file saved durably: write a temp file, fsync it, rename it over the old
 * one, fsync the directory. A crash at any moment leaves either the old or the new state,
 * never a torn one; a temp file left by a killed process (`.NAME.PID@HOST.tmp`) is removed by
 * the next `load` on the same host once that pid is gone (a pid of another host, on a shared
 * directory such as NFS, cannot be checked: its temp files are left alone). The file is readable
 * by its owner only (0600).
 */
import { open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DiskFullError } from './errors.js';
import { writerGone, writerTag } from './process-alive.js';

export class CheckpointFile<State> {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** The last saved state, or undefined when there is none. Removes the temp files of dead writers first. */
  async load(): Promise<State | undefined> {
    await this.removeStaleTemps();
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return JSON.parse(text) as State;
    } catch (error) {
      // rename() is atomic, so a torn file means someone else wrote it: do not guess.
      throw new Error(`State file ${this.path} is not valid JSON; delete it to start over`, { cause: error });
    }
  }

  /**
   * Save `state` durably (returns once it is on disk). The state is serialized at the call, so
   * the caller may go on changing its object while the write is under way.
   */
  async save(state: State): Promise<void> {
    const text = JSON.stringify(state);
    const temp = this.tempPath();
    try {
      // Owner-only from the first byte: a state may hold a secret (a pre-signed upload URL), and
      // the temp file is the state once renamed (or litter after a crash). The chmod covers a
      // temp file left by an earlier process of the same pid, which open() does not re-mode.
      const handle = await open(temp, 'w', 0o600);
      try {
        if (process.platform !== 'win32') await handle.chmod(0o600);
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (error) {
      // The old state is intact; a half-written temp file would only be litter (0 bytes on a full disk).
      await rm(temp, { force: true }).catch(() => undefined);
      throw DiskFullError.matches(error) ? new DiskFullError(this.path, error) : error;
    }
    await syncDirectory(dirname(this.path));
  }

  /** Where this process writes the next state before renaming it over the file. */
  private tempPath(): string {
    return join(dirname(this.path), `.${basename(this.path)}.${writerTag()}.tmp`);
  }

  /**
   * Remove this state's temp files whose writer is gone (a `kill -9` mid-save leaves one): they
   * are never read, and one may hold a secret of the state. A live writer's (another process
   * saving the same state) is left alone, and so is every temp file of another host. A name
   * without a host was written by an older version, which assumed one host: checked here.
   * Best effort: litter must not stop a run.
   */
  private async removeStaleTemps(): Promise<void> {
    const prefix = `.${basename(this.path)}.`;
    const names = await readdir(dirname(this.path)).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
      if (!writerGone(name.slice(prefix.length, -'.tmp'.length))) continue;
      await rm(join(dirname(this.path), name), { force: true }).catch(() => undefined);
    }
  }

  /** Delete the state (e.g. after a finished export). */
  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

/** fsync a directory so a rename in it survives power loss (not possible on Windows). */
export async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
