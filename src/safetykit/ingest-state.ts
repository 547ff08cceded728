/**
 * The resume state of a file ingest (`ingestFile()`): how far into a JSONL file the API has
 * acknowledged every object, in input order. Saved durably (core CheckpointFile) as batches are
 * acknowledged, keyed to the file's identity and the namespace, so a re-run starts there.
 */
import { CheckpointFile } from '../core/checkpoint.js';
import { ConfigError } from '../core/errors.js';
import { identityChange, type FileIdentity } from '../core/file-identity.js';
import type { LinePosition } from '../core/jsonl-positions.js';

/** What `<file>.ingest-state.json` holds. */
export interface IngestState {
  version: 1;
  kind: 'safetykit-ingest';
  /** The input file, as given (for messages). */
  file: string;
  /** The input's identity (core/file-identity.ts): another size, mtime or edge hash means the file changed. */
  size: number;
  mtimeNs: string;
  edgesSha256: string;
  namespace: string;
  /** Every object before this position was accepted by the API (or skipped as invalid). */
  position: LinePosition;
  /** Objects accepted before `position`, over every run. */
  objects: number;
  /** True once a run reached the end of the file. */
  finished: boolean;
}

/** The state file, checked against the file and namespace of this run. */
export class IngestStateFile {
  private readonly checkpoint: CheckpointFile<IngestState>;

  constructor(readonly path: string) {
    this.checkpoint = new CheckpointFile<IngestState>(path);
  }

  /**
   * The state of an earlier run of the same ingest, or a fresh one. Throws a `ConfigError` naming
   * what differs from the recorded run: `file` (the file changed since), `namespace`, or
   * `stateFile` (the state of something else).
   */
  async open(file: string, identity: FileIdentity, namespace: string): Promise<{ state: IngestState; resumed: boolean }> {
    const saved = await this.checkpoint.load();
    if (saved === undefined) {
      const { size, mtimeNs, edgesSha256 } = identity;
      return { state: { version: 1, kind: 'safetykit-ingest', file, size, mtimeNs, edgesSha256, namespace, position: { line: 0, offset: 0 }, objects: 0, finished: false }, resumed: false };
    }
    const position = saved.position as Partial<LinePosition> | undefined;
    if (saved.kind !== 'safetykit-ingest' || saved.version !== 1 || !Number.isSafeInteger(position?.line) || !Number.isSafeInteger(position?.offset)) {
      throw new ConfigError('stateFile', `${this.path} is not the state of a SafetyKit ingest: name another state file, or delete that file`, this.path);
    }
    const change = identityChange(saved, identity);
    if (change !== undefined) {
      throw new ConfigError(
        'file',
        `${file} changed since the ingest recorded in ${this.path} (${change}); resuming would skip or repeat objects. To ingest the file as it is now, delete ${this.path} and run again`,
        file,
      );
    }
    if (saved.namespace !== namespace) {
      throw new ConfigError('namespace', `the state file ${this.path} records an ingest of ${file} into namespace "${saved.namespace}": pass that namespace to resume it, or delete the state file to ingest into "${namespace}"`, namespace);
    }
    return { state: saved, resumed: true };
  }

  async save(state: IngestState): Promise<void> {
    await this.checkpoint.save(state);
  }
}
