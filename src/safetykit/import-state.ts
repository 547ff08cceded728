/**
 * The resume state of a file import (`importFile()`): which byte ranges of the file went to which
 * import request, and how far each got. Saved durably (core CheckpointFile) after every step, so
 * a killed run can be re-run without sending any part twice.
 */
import { stat } from 'node:fs/promises';
import { CheckpointFile } from '../core/checkpoint.js';
import { InferenceStreamsError } from '../core/errors.js';

/** One part of the file: a byte range that is one import request. */
export interface ImportPartState {
  /** Byte range `[start, end)` of the file; always whole lines. */
  start: number;
  end: number;
  /** 1-based input line of the part's first byte (for error messages of later parts). */
  firstLine: number;
  /** Lines and objects of the part, once all of them were checked. */
  lines?: number;
  objects?: number;
  /** The import request of the part, once asked for. */
  requestId?: string;
  /**
   * The pre-signed URL while its PUT may be under way (dropped once the upload is confirmed): a
   * re-run re-sends the same bytes to the same URL, so even an upload that landed just before
   * the kill never becomes a second import.
   */
  uploadUrl?: string;
  uploadExpiresAt?: string;
  /** The PUT was confirmed (or the service showed the request past `uploading`). */
  uploaded: boolean;
  /** The last status seen: `succeeded` is final; `failed` parts are imported again by a re-run. */
  status?: string;
}

/** What `<file>.import-state.json` holds. */
export interface ImportState {
  version: 1;
  kind: 'safetykit-import';
  /** The input file, as given (for messages). */
  file: string;
  /** The input's identity: a different size or modification time means the file changed. */
  size: number;
  mtimeNs: string;
  namespace: string;
  parts: ImportPartState[];
}

/** The input file's identity. */
export interface FileIdentity {
  size: number;
  mtimeNs: string;
  isFile: boolean;
}

export async function fileIdentity(path: string): Promise<FileIdentity> {
  const info = await stat(path, { bigint: true });
  return { size: Number(info.size), mtimeNs: info.mtimeNs.toString(), isFile: info.isFile() };
}

/** A re-run found the input file different from the one its state file recorded. */
export class InputChangedError extends InferenceStreamsError {
  /** The state file that records the earlier import. */
  readonly stateFile: string;
  constructor(file: string, stateFile: string, what: string) {
    super(
      `${file} changed since the import recorded in ${stateFile} (${what}); resuming would import parts of it twice or not at all. ` +
        `To import the file as it is now, delete ${stateFile} and run again`,
    );
    this.stateFile = stateFile;
  }
}

/** The state file, checked against the file and namespace of this run. */
export class ImportStateFile {
  private readonly checkpoint: CheckpointFile<ImportState>;

  constructor(readonly path: string) {
    this.checkpoint = new CheckpointFile<ImportState>(path);
  }

  /**
   * The state of an earlier run of the same import, or a fresh one. Throws `InputChangedError`
   * when the file is not the one recorded, and a plain Error when the state is of something else.
   */
  async open(file: string, identity: FileIdentity, namespace: string): Promise<{ state: ImportState; resumed: boolean }> {
    const saved = await this.checkpoint.load();
    if (saved === undefined) {
      return { state: { version: 1, kind: 'safetykit-import', file, size: identity.size, mtimeNs: identity.mtimeNs, namespace, parts: [] }, resumed: false };
    }
    if (saved.kind !== 'safetykit-import' || saved.version !== 1 || !Array.isArray(saved.parts)) {
      throw new Error(`${this.path} is not the state of a SafetyKit import; pass another --state file or delete it`);
    }
    if (saved.size !== identity.size) throw new InputChangedError(file, this.path, `size ${saved.size} → ${identity.size} bytes`);
    if (saved.mtimeNs !== identity.mtimeNs) throw new InputChangedError(file, this.path, 'its modification time is not the recorded one');
    if (saved.namespace !== namespace) {
      throw new Error(`${this.path} records an import of ${file} into namespace "${saved.namespace}", not "${namespace}"; pass --namespace ${saved.namespace}, or delete it to import into "${namespace}"`);
    }
    return { state: saved, resumed: true };
  }

  async save(state: ImportState): Promise<void> {
    // While a PUT is under way the state holds its pre-signed URL: CheckpointFile writes it 0600.
    await this.checkpoint.save(state);
  }
}
