/**
 * Whether an export's output is still the file it wrote: a file deleted (or replaced) while the
 * export runs takes the written records with it, while writes to the open descriptor still
 * succeed. Checked at the end of a complete run, so a lost output fails instead of reporting success.
 */
import { OutputLostError } from '../core/errors.js';
import { inodeOf, type FileInode } from '../core/file-identity.js';

/**
 * Fail with `OutputLostError` when `path` is no longer the file `inode` (deleted, or another file
 * moved there). `lost` says what went with it and `then` what to do, e.g. `delete the state file … and run again`.
 */
export async function refuseLostOutput(path: string, inode: FileInode, what: string, lost: string, then: string): Promise<void> {
  const now = await inodeOf(path);
  if (now && now.dev === inode.dev && now.ino === inode.ino) return;
  const how = now ? 'replaced' : 'deleted';
  const happened = now ? 'was replaced by another file' : 'was deleted';
  throw new OutputLostError(path, how, `The ${what} ${path} ${happened} while the export ran: ${lost} went with it. ${then}`);
}
