/**
 * The resume state of a file import (`importFile()`): which byte ranges of the file went to which
 * import request, and how far each got. Saved durably (core CheckpointFile) after every step, so
 * a killed run can be re-run without sending any part twice.
 */
import { CheckpointFile } from '../core/checkpoint.js';
import { ConfigError, InferenceStreamsError } from '../core/errors.js';
import { identityChange, type FileIdentity } from '../core/file-identity.js';

/** One part of the file: a byte range that is one import request. */
export interface ImportPartState {
  /** Byte range `[start, end)` of the file; always whole lines (of a JSON array: whole elements, see json-array-view.ts). */
  start: number;
  end: number;
  /** 1-based input line of the part's first byte (of a JSON array: 1 + the 0-based index of its first element). */
  firstLine: number;
  /** Of a JSON array: the 1-based line of the file where the part starts, and the LF bytes in it (for error messages). */
  fileLine?: number;
  newlines?: number;
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
  /**
   * The input's identity (core/file-identity.ts): a different size, modification time or hash of
   * its first and last 64 KiB means the file changed. `edgesSha256` is missing in states written
   * before it was recorded (those are compared on size and mtime).
   */
  size: number;
  mtimeNs: string;
  edgesSha256?: string;
  /** What the file holds: JSONL (missing in older states), or one JSON array (or `{"data": [...]}`). */
  format?: ImportFileFormat;
  /** Of a JSON array: true when it is the `data` of `{"data": [...]}` (missing in older states: read from the file again). */
  wrapped?: boolean;
  /** Of a JSON array: the byte after its closing `]`, once a part reached it. */
  arrayEnd?: number;
  namespace: string;
  parts: ImportPartState[];
}

/** What an imported file holds. */
export type ImportFileFormat = 'jsonl' | 'json';

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
   * when the file is not the one recorded, and a `ConfigError` naming the setting that differs
   * from the recorded import's (`stateFile` of something else, another `format` or `namespace`).
   */
  async open(file: string, identity: FileIdentity, namespace: string, format: ImportFileFormat): Promise<{ state: ImportState; resumed: boolean }> {
    const saved = await this.checkpoint.load();
    if (saved === undefined) {
      const { size, mtimeNs, edgesSha256 } = identity;
      return { state: { version: 1, kind: 'safetykit-import', file, size, mtimeNs, edgesSha256, format, namespace, parts: [] }, resumed: false };
    }
    if (saved.kind !== 'safetykit-import' || saved.version !== 1 || !Array.isArray(saved.parts)) {
      throw new ConfigError('stateFile', `${this.path} is not the state of a SafetyKit import: name another state file, or delete that file`, this.path);
    }
    const change = identityChange(saved, identity);
    if (change !== undefined) throw new InputChangedError(file, this.path, change);
    // Recorded from now on (a state of an older version had no hash).
    saved.edgesSha256 ??= identity.edgesSha256;
    const savedFormat = saved.format ?? 'jsonl';
    if (savedFormat !== format) {
      const as = (what: ImportFileFormat) => (what === 'json' ? 'a JSON array' : 'JSONL');
      throw new ConfigError('format', `the state file ${this.path} records an import of ${file} read as ${as(savedFormat)}, not as ${as(format)}: pass the same format as then ("${savedFormat}") to resume it, or delete the state file to start over`, format);
    }
    if (saved.namespace !== namespace) {
      throw new ConfigError('namespace', `the state file ${this.path} records an import of ${file} into namespace "${saved.namespace}": pass that namespace to resume it, or delete the state file to import into "${namespace}"`, namespace);
    }
    return { state: saved, resumed: true };
  }

  async save(state: ImportState): Promise<void> {
    // While a PUT is under way the state holds its pre-signed URL: CheckpointFile writes it 0600.
    await this.checkpoint.save(state);
  }
}
