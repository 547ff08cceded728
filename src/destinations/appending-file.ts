/**
 * A text file that pages are appended to (JSONL, CSV), exactly once: after each page the bytes
 * are written and fsynced, then the state `{checkpoint, bytes, records, pages}` is saved durably;
 * `open` truncates the file to the saved `bytes` (dropping a page written before a crash but
 * never counted), so after any number of crashes the file equals a one-shot export.
 *
 * With K > 1 partitions each writes its own part file (`file.part-2-of-4`), all counted in one
 * state file; `close(true)` joins them in order (or keeps them with `split`).
 */
import { createReadStream } from 'node:fs';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import { ConfigError, DiskFullError } from '../core/errors.js';
import { refuseOtherColumns, type ColumnMapping } from './columns.js';
import { refuseOtherFormat, type ExportFormat } from './file-format.js';
import { refuseLostOutput } from './output-check.js';
import { StateSaver } from './state-saver.js';
import type { ClosedDestination, Destination, DestinationKind, OpenedExport, OpenRequest, PartitionPosition } from './destination.js';

/** How records become bytes. */
export interface Encoder {
  /** The format of the bytes, saved in the state: a resume in another format is refused. */
  readonly format: ExportFormat;
  /** Written once at the start of each file (e.g. a CSV header row). */
  readonly header?: Buffer;
  /**
   * The columns of a tabular format (CSV). Their names are saved in the state, so a resume with
   * other columns (e.g. another `keepRecord`) is refused instead of mixing two layouts in one file.
   */
  readonly mapping?: ColumnMapping;
  encode(records: readonly object[]): Buffer;
}

/** Options of an appending file destination. */
export interface AppendingFileOptions {
  /** The output file. */
  file: string;
  /** Where the resume state is saved. Default `file + '.state.json'`. */
  stateFile?: string;
  /** With partitions: keep the part files instead of joining them. Default false. */
  split?: boolean;
}

/** A partition's position plus the bytes of its file that it counts. */
interface PartState extends PartitionPosition {
  bytes: number;
}

/** What the file holds, saved so a resume in another format or with other columns is refused. */
interface Layout {
  /** Absent in states saved before it was recorded (see `savedFormatOf`). */
  format?: ExportFormat;
  columns?: string[];
}

interface SingleState extends PartState, Layout {
  version: 1;
}

interface PartitionedState extends Layout {
  version: 1;
  startTime: number;
  endTime: number;
  split: boolean;
  partitions: PartState[];
  /** The parts were joined into the file (or `split` kept them): nothing is left to do. */
  joined: boolean;
}

type FileState = SingleState | PartitionedState;

export class AppendingFileDestination implements Destination {
  readonly kind: DestinationKind;
  readonly description: string;
  private readonly state: StateSaver<FileState>;
  private current: FileState | undefined;
  private parts: PartState[] = [];
  private paths: string[] = [];
  private handles: (FileHandle | undefined)[] = [];

  constructor(
    kind: string,
    private readonly encoder: Encoder,
    private readonly options: AppendingFileOptions,
  ) {
    this.kind = encoder.format;
    this.description = `${kind} file ${options.file}`;
    this.state = new StateSaver<FileState>(options.stateFile ?? `${options.file}.state.json`);
  }

  async open(request: OpenRequest): Promise<OpenedExport> {
    const saved = await this.state.file.load();
    const partitions = request.initial.length;
    let state: FileState;
    if (saved) {
      // First: a state of another format (a Parquet state has partitions too) says nothing else that fits.
      refuseOtherFormat(saved, this.encoder.format, this.state.file.path);
      if ('partitions' in saved !== partitions > 1) {
        const was = 'partitions' in saved ? `a partitioned export (${saved.partitions.length} partitions)` : 'a single-cursor export';
        throw new ConfigError('partitions', `the state file ${this.state.file.path} is of ${was}; pass the same partitions or delete it`, partitions);
      }
      // Checked before any file is opened (opening truncates to the saved bytes).
      if (this.encoder.mapping) refuseOtherColumns(saved.columns, this.encoder.mapping, this.state.file.path);
      state = saved;
    } else if (partitions === 1) {
      state = { ...request.initial[0], bytes: 0, version: 1 };
    } else {
      const parts = request.initial.map((position) => ({ ...position, bytes: 0 }));
      state = { version: 1, startTime: parts[0].startTime!, endTime: parts.at(-1)!.endTime!, split: this.options.split === true, joined: false, partitions: parts };
    }
    // Also when resuming a state saved without them: from now on it says what the file holds.
    state.format = this.encoder.format;
    if (this.encoder.mapping) state.columns = this.encoder.mapping.columns.map((column) => column.name);
    this.current = state;
    this.parts = 'partitions' in state ? state.partitions : [state];
    this.parts.forEach((part) => checkedPart(part, this.state.file.path));
    this.paths = 'partitions' in state ? state.partitions.map((_, i) => partFileName(this.options.file, i, state.partitions.length)) : [this.options.file];
    if (!('partitions' in state && state.joined)) {
      for (const [i, part] of this.parts.entries()) this.handles[i] = await this.openAt(this.paths[i], part);
    }
    // Saved at once (the contract's insert-if-absent): from the start the state says which format
    // the file holds, so a rerun in another format is refused even before the first page.
    if (!saved) await this.save();
    return { positions: this.parts.map(({ bytes: _bytes, ...position }) => position), resumed: saved !== undefined };
  }

  async write(partition: number, records: readonly object[], position: PartitionPosition): Promise<void> {
    await this.append(partition, records.length > 0 ? this.encoder.encode(records) : undefined, position);
  }

  /** Append a page's bytes (if any), fsync them, then save the state with the position after them. */
  protected async append(partition: number, bytes: Buffer | undefined, position: PartitionPosition): Promise<void> {
    const part = this.parts[partition];
    if (bytes !== undefined && bytes.length > 0) {
      const handle = this.handles[partition]!;
      try {
        await writeFully(handle, bytes, part.bytes, this.paths[partition]);
        await handle.datasync();
      } catch (error) {
        // The state still counts only what was there before: resumable once there is space.
        throw diskFull(this.paths[partition], error);
      }
      part.bytes += bytes.length;
    }
    Object.assign(part, position);
    await this.save();
  }

  async close(complete: boolean): Promise<ClosedDestination> {
    // Before the handles close: the files they write must still be the ones at their paths.
    let lost: unknown;
    if (complete) await this.checkOutputs().catch((error: unknown) => (lost = error));
    await Promise.all(this.handles.map((handle) => handle?.close()));
    this.handles = [];
    await this.state.settled();
    if (lost) throw lost;
    const state = this.current;
    if (!state || !('partitions' in state)) {
      return { files: [this.options.file], bytes: this.parts[0]?.bytes ?? 0 };
    }
    const bytes = this.parts.reduce((sum, part) => sum + part.bytes, 0);
    if (complete && !state.joined) {
      if (!state.split) await joinParts(this.paths, this.options.file, this.encoder.header?.length ?? 0);
      state.joined = true;
      await this.save();
    }
    if (!state.joined) return { files: this.paths, bytes };
    if (state.split) return { files: this.paths, bytes };
    await Promise.all(this.paths.map((path) => rm(path, { force: true })));
    return { files: [this.options.file], bytes: bytes - (this.paths.length - 1) * (this.encoder.header?.length ?? 0) };
  }

  /** Fail when an output (or part file) this run wrote was deleted or replaced meanwhile. */
  private async checkOutputs(): Promise<void> {
    for (const [i, handle] of this.handles.entries()) {
      if (!handle) continue;
      const { dev, ino } = await handle.stat();
      const records = this.parts[i].records;
      await refuseLostOutput(this.paths[i], { dev, ino }, 'output file', `the ${records} record(s) the state file counts in it`, `Delete the state file ${this.state.file.path} and run the export again to start over.`);
    }
  }

  private save(): Promise<void> {
    return this.state.save(this.current!);
  }

  /**
   * Open `path` for writing at `part.bytes`: truncated there when resuming, created otherwise.
   * A new file gets the header now, counted in `part.bytes` from the first save on (a crash
   * before it just writes the header again).
   */
  private async openAt(path: string, part: PartState): Promise<FileHandle> {
    const { bytes } = part;
    if (bytes === 0) {
      const handle = await open(path, 'w');
      const header = this.encoder.header;
      if (header) {
        try {
          await writeFully(handle, header, 0, path);
          await handle.datasync();
        } catch (error) {
          await handle.close();
          throw diskFull(path, error);
        }
        part.bytes = header.length;
      }
      return handle;
    }
    const size = await stat(path).then(
      (s) => s.size,
      () => -1,
    );
    if (size < bytes) {
      throw new Error(`Cannot resume: ${path} has ${size < 0 ? 'gone' : `${size} bytes`} but the state file ${this.state.file.path} says ${bytes} were written; delete the state file to start over`);
    }
    const handle = await open(path, 'r+');
    // Bytes past the saved state are a page written before a crash, not yet acknowledged: drop them.
    await handle.truncate(bytes);
    return handle;
  }
}

/**
 * A DiskFullError (which says how to go on) for a full disk or quota, else `error` as it is.
 * DuckDB reports a full disk in its message only.
 */
export function diskFull(path: string, error: unknown): unknown {
  if (error instanceof DiskFullError) return error;
  if (DiskFullError.matches(error)) return new DiskFullError(path, error);
  if (error instanceof Error && /No space left on device|ENOSPC/.test(error.message)) {
    return new DiskFullError(path, Object.assign(new Error(error.message), { code: 'ENOSPC' }));
  }
  return error;
}

/**
 * Write all of `data` (a string as UTF-8) at `position` (null: the file's current offset). `FileHandle.write` may
 * write fewer bytes without throwing (a nearly full disk); a state counting the rest would point
 * past the file's end. A write of zero bytes cannot progress: a DiskFullError naming `path`.
 */
export async function writeFully(handle: FileHandle, data: Uint8Array | string, position: number | null, path: string): Promise<void> {
  const buffer = typeof data === 'string' ? Buffer.from(data) : data;
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset, position === null ? null : position + offset);
    if (bytesWritten <= 0) throw new DiskFullError(path, Object.assign(new Error(`wrote 0 of ${buffer.length - offset} bytes`), { code: 'ENOSPC' }));
    offset += bytesWritten;
  }
}

/** `file.part-2-of-4`. */
export function partFileName(file: string, index: number, count: number): string {
  return `${file}.part-${index + 1}-of-${count}`;
}

/** Concatenate the parts into `file` in order, durably; every part after the first drops its `headerBytes`. */
async function joinParts(parts: string[], file: string, headerBytes: number): Promise<void> {
  const out = await open(file, 'w');
  try {
    for (const [i, part] of parts.entries()) {
      const start = i === 0 ? 0 : headerBytes;
      for await (const chunk of createReadStream(part, { start })) await writeFully(out, chunk as Buffer, null, file);
    }
    await out.sync();
  } finally {
    await out.close();
  }
}

function checkedPart(part: PartState, statePath: string): void {
  const ok =
    typeof part === 'object' &&
    part !== null &&
    Number.isSafeInteger(part.bytes) &&
    part.bytes >= 0 &&
    Number.isSafeInteger(part.records) &&
    Number.isSafeInteger(part.pages) &&
    (part.checkpoint === undefined || typeof part.checkpoint === 'string');
  if (!ok) throw new Error(`The state file ${statePath} is not an Innerworks export state; delete it to start over`);
  part.done ??= false;
}
