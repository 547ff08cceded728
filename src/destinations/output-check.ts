/**
 * Whether an export's output is still the file it wrote: a file deleted (or replaced) while the
 * export runs takes the written records with it, while writes to the open descriptor still
 * succeed. Checked at the end of a complete run, so a lost output fails instead of reporting success.
 */
import { stat } from 'node:fs/promises';

/** What tells one file from another at the same path. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** The identity of the file at `path`, or undefined when there is none. */
export function fileIdentity(path: string): Promise<FileIdentity | undefined> {
  return stat(path).then(
    ({ dev, ino }) => ({ dev, ino }),
    () => undefined,
  );
}

/**
 * Fail when `path` is no longer the file with `identity` (deleted, or another file moved there).
 * `lost` says what went with it and `then` what to do, e.g. `delete the state file … and run again`.
 */
export async function refuseLostOutput(path: string, identity: FileIdentity, what: string, lost: string, then: string): Promise<void> {
  const now = await fileIdentity(path);
  if (now && now.dev === identity.dev && now.ino === identity.ino) return;
  const happened = now ? 'was replaced by another file' : 'was deleted';
  throw new Error(`The ${what} ${path} ${happened} while the export ran: ${lost} went with it. ${then}`);
}
