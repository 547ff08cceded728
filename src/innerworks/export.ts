/**
 * `exportInferenceResults()`: exactly-once export to a JSONL file. After each page the records
 * are appended and fsynced, then the state `{checkpoint, bytes, records, pages}` is saved
 * durably; a restart truncates the file to `bytes` and resumes from `checkpoint`, so after any
 * number of crashes the file is byte-identical to a one-shot export.
 *
 * With `partitions` > 1 each time range is written to its own part file by its own cursor, all
 * in parallel, with one state file for all; the parts are joined in order at the end (or kept
 * with `split`).
 */
import { setMaxListeners } from 'node:events';
import { createReadStream } from 'node:fs';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import { CheckpointFile } from '../core/checkpoint.js';
import { AbortError, ConfigError } from '../core/errors.js';
import { booleanOption, stringOption } from '../core/options.js';
import { baseStats } from '../core/stats.js';
import { PageCursor } from './cursor.js';
import { partitionBounds, resolveInnerworksOptions, type InferenceResultsOptions, type ResolvedInnerworksOptions } from './options.js';
import type { InferenceResultsStats } from './results-stream.js';

/** Options of {@link exportInferenceResults}: those of `inferenceResults()` plus the files. */
export interface ExportInferenceResultsOptions extends InferenceResultsOptions {
  /** The JSONL file to write (one result per line). Required. */
  file: string;
  /** Where the resume state is saved after each page. Default `file + '.state.json'`. */
  stateFile?: string;
  /** With `partitions` > 1: keep the K part files (`file.part-1-of-K` …) instead of joining them into `file`. Default false. */
  split?: boolean;
  /** Called after each page with the counters of this run. Default none. */
  onProgress?: (stats: InferenceResultsStats) => void;
}

/** What an export wrote. Totals cover the whole file, earlier (resumed) runs included. */
export interface ExportSummary {
  /** The files written: `[file]`, or the part files with `split`. */
  files: string[];
  /** Results in the file(s). */
  records: number;
  /** Non-empty pages written. */
  pages: number;
  /** Size of the file(s) in bytes. */
  bytes: number;
  /** Checkpoint after the last record (undefined for a partitioned or `endTime`-bounded export). */
  checkpoint: string | undefined;
  /** True when an earlier run's state was found and resumed. */
  resumed: boolean;
  /** Results written by this run. */
  recordsThisRun: number;
  /** HTTP requests and retries of this run. */
  requests: number;
  retries: number;
  /** Duration of this run, ms. */
  elapsedMs: number;
}

/** Progress of one cursor, durably saved. */
interface PartState {
  startTime?: number;
  endTime?: number;
  checkpoint?: string;
  bytes: number;
  records: number;
  pages: number;
  /** The cursor reached its end time (a bounded range is complete). */
  done: boolean;
}

interface SingleState extends PartState {
  version: 1;
}

interface PartitionedState {
  version: 1;
  startTime: number;
  endTime: number;
  split: boolean;
  partitions: PartState[];
  /** The parts were joined into the file (or `split` kept them): nothing is left to do. */
  joined: boolean;
}

type ExportState = SingleState | PartitionedState;

/**
 * Export every inference result (from `startTime`, or after `checkpoint`) to `file` as JSONL,
 * exactly once across crashes and restarts. Running it again after it finished resumes from the
 * last checkpoint and appends only newer results.
 */
export async function exportInferenceResults(options: ExportInferenceResultsOptions): Promise<ExportSummary> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  const file = stringOption('file', options.file, true);
  const stateFile = stringOption('stateFile', options.stateFile) ?? `${file}.state.json`;
  const split = booleanOption('split', options.split, false);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new ConfigError('onProgress', 'must be a function', options.onProgress);
  const resolved = resolveInnerworksOptions(options);
  const run = new ExportRun(resolved, file, new CheckpointFile<ExportState>(stateFile), options.onProgress);
  return resolved.partitions > 1 ? run.partitioned(split) : run.single();
}

class ExportRun {
  private readonly stats: InferenceResultsStats = { ...baseStats(), records: 0, pages: 0 };
  private readonly startedAt = Date.now();
  private readonly controller = withoutListenerLimit(new AbortController());
  private saving: Promise<void> = Promise.resolve();
  private queuedSave: Promise<void> | undefined;

  constructor(
    private readonly options: ResolvedInnerworksOptions,
    private readonly file: string,
    private readonly state: CheckpointFile<ExportState>,
    private readonly onProgress: ((stats: InferenceResultsStats) => void) | undefined,
  ) {}

  async single(): Promise<ExportSummary> {
    const saved = await this.state.load();
    if (saved && 'partitions' in saved) {
      throw new ConfigError('partitions', `the state file ${this.state.path} is of a partitioned export (${saved.partitions.length} partitions); pass the same partitions or delete it`);
    }
    if (saved) sameBounds(saved, this.options, this.state.path, true);
    const part: PartState = saved
      ? checkedPart(saved, this.state.path)
      : { startTime: this.options.startTime, endTime: this.options.endTime, checkpoint: this.options.checkpoint, bytes: 0, records: 0, pages: 0, done: false };
    const state: SingleState = Object.assign(part, { version: 1 as const });
    await this.withSignal(() => this.runPart(part, this.file, () => this.save(state), this.options.follow));
    return this.summary([this.file], [part], saved !== undefined, part.done ? undefined : part.checkpoint);
  }

  async partitioned(split: boolean): Promise<ExportSummary> {
    const { startTime, endTime, partitions } = this.options;
    let state = await this.state.load();
    if (state && !('partitions' in state)) {
      throw new ConfigError('partitions', `the state file ${this.state.path} is of a single-cursor export; run without partitions or delete it`);
    }
    const resumed = state !== undefined;
    if (state) {
      if (state.partitions.length !== partitionBounds(state.startTime, state.endTime, partitions).length - 1) {
        throw new ConfigError('partitions', `the state file ${this.state.path} was written with ${state.partitions.length} partitions; pass the same number or delete it`, partitions);
      }
      // endTime defaults to "now" with partitions, so only an explicit startTime can be compared.
      sameBounds(state, this.options, this.state.path, false);
      state.partitions.forEach((part) => checkedPart(part, this.state.path));
    } else {
      const bounds = partitionBounds(startTime!, endTime!, partitions);
      state = {
        version: 1,
        startTime: startTime!,
        endTime: endTime!,
        split,
        joined: false,
        partitions: bounds.slice(1).map((end, i) => ({ startTime: bounds[i], endTime: end, bytes: 0, records: 0, pages: 0, done: false })),
      };
    }
    const current = state;
    const parts = current.partitions.map((_, i) => partFileName(this.file, i, current.partitions.length));
    if (!current.joined) {
      await this.withSignal(() =>
        Promise.all(
          current.partitions.map((part, i) =>
            this.runPart(part, parts[i], () => this.save(current), false).catch((error: unknown) => {
              // One failed range stops the others; the saved state resumes all of them.
              this.controller.abort();
              throw error;
            }),
          ),
        ),
      );
      if (!current.split) await joinParts(parts, this.file);
      current.joined = true;
      await this.save(current);
    }
    if (!current.split) await Promise.all(parts.map((part) => rm(part, { force: true })));
    return this.summary(current.split ? parts : [this.file], current.partitions, resumed, undefined);
  }

  /** Run one cursor into `path` until its end (or abort), saving state after every page. */
  private async runPart(part: PartState, path: string, save: () => Promise<void>, follow: boolean): Promise<void> {
    if (part.done) return;
    const handle = await openAt(path, part.bytes, this.state.path);
    try {
      const cursor = new PageCursor({
        client: this.options.client,
        batchSize: this.options.batchSize,
        startTime: part.startTime,
        endTime: part.endTime,
        checkpoint: part.checkpoint,
        prefetch: Math.max(1, this.options.prefetch),
        follow,
        pollIntervalMs: this.options.pollIntervalMs,
        signal: this.controller.signal,
        stats: this.stats,
      });
      for (;;) {
        const page = await cursor.next();
        if (!page) break;
        const { checkpoint } = page;
        const count = page.records.length;
        // Serialize first and drop the parsed page before the awaits below: the next page is
        // parsed meanwhile, and this one should not survive into the old generation (GC time).
        const jsonl = count > 0 ? toJsonl(page.records) : undefined;
        page.records = [];
        if (jsonl) {
          await handle.write(jsonl, 0, jsonl.length, part.bytes);
          await handle.datasync();
          part.bytes += jsonl.length;
          part.records += count;
          part.pages++;
          this.stats.records += count;
          this.stats.pages++;
        }
        // A page cut at endTime has no checkpoint to resume from: the range is then complete.
        if (checkpoint === undefined) part.done = true;
        else part.checkpoint = checkpoint;
        await save();
        this.stats.elapsedMs = Date.now() - this.startedAt;
        this.onProgress?.(this.stats);
      }
      if (part.endTime !== undefined && !part.done) {
        part.done = true;
        await save();
      }
    } finally {
      await handle.close();
    }
  }

  /**
   * Save the state durably. Parallel cursors share one state file, so saves are serialized and
   * grouped: a caller joins a save that has not started yet (its snapshot is taken when it
   * starts, so it includes the caller's progress) instead of queueing one more.
   */
  private save(state: ExportState): Promise<void> {
    if (this.queuedSave) return this.queuedSave;
    const queued = this.saving.then(() => {
      this.queuedSave = undefined;
      return this.state.save(state);
    });
    this.queuedSave = queued;
    this.saving = queued.catch(() => undefined);
    return queued;
  }

  /** Abort the run's requests when the caller's signal fires, and fail with AbortError. */
  private async withSignal<T>(work: () => Promise<T>): Promise<T> {
    const signal = this.options.signal;
    if (signal?.aborted) throw new AbortError('export aborted before it started', { cause: signal.reason });
    const onAbort = () => this.controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await work();
    } catch (error) {
      if (signal?.aborted && !(error instanceof AbortError)) throw new AbortError('export aborted', { cause: error });
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await this.saving;
    }
  }

  private summary(files: string[], parts: PartState[], resumed: boolean, checkpoint: string | undefined): ExportSummary {
    return {
      files,
      records: parts.reduce((sum, part) => sum + part.records, 0),
      pages: parts.reduce((sum, part) => sum + part.pages, 0),
      bytes: parts.reduce((sum, part) => sum + part.bytes, 0),
      checkpoint,
      resumed,
      recordsThisRun: this.stats.records,
      requests: this.stats.requests,
      retries: this.stats.retries,
      elapsedMs: Date.now() - this.startedAt,
    };
  }
}

/** Records as JSONL bytes, one `JSON.stringify` per line. */
function toJsonl(records: readonly unknown[]): Buffer {
  let text = '';
  for (const record of records) text += `${JSON.stringify(record)}\n`;
  return Buffer.from(text);
}

/** `file.part-2-of-4`. */
function partFileName(file: string, index: number, count: number): string {
  return `${file}.part-${index + 1}-of-${count}`;
}

/** Open `path` for writing at `bytes`: truncated there when resuming, created empty otherwise. */
async function openAt(path: string, bytes: number, statePath: string): Promise<FileHandle> {
  if (bytes === 0) return open(path, 'w');
  const size = await stat(path).then(
    (s) => s.size,
    () => -1,
  );
  if (size < bytes) {
    throw new Error(`Cannot resume: ${path} has ${size < 0 ? 'gone' : `${size} bytes`} but the state file ${statePath} says ${bytes} were written; delete the state file to start over`);
  }
  const handle = await open(path, 'r+');
  // Bytes past the saved state are a page written before a crash, not yet acknowledged: drop them.
  await handle.truncate(bytes);
  return handle;
}

/** Concatenate the parts into `file` in order, durably. */
async function joinParts(parts: string[], file: string): Promise<void> {
  const out = await open(file, 'w');
  try {
    for (const part of parts) {
      for await (const chunk of createReadStream(part)) await out.write(chunk as Buffer);
    }
    await out.sync();
  } finally {
    await out.close();
  }
}

function checkedPart(part: PartState, statePath: string): PartState {
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
  return part;
}

/** Every cursor's request and poll wait listens to the run's signal: lift the listener limit. */
function withoutListenerLimit(controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal);
  return controller;
}

/** A resumed export must cover the range it was started with: refuse other bounds rather than ignore them. */
function sameBounds(saved: { startTime?: number; endTime?: number }, options: ResolvedInnerworksOptions, path: string, compareEnd: boolean): void {
  const differs = (name: 'startTime' | 'endTime') => options[name] !== undefined && saved[name] !== options[name];
  for (const name of compareEnd ? (['startTime', 'endTime'] as const) : (['startTime'] as const)) {
    if (differs(name)) {
      const was = saved[name] === undefined ? 'none' : new Date(saved[name]!).toISOString();
      throw new ConfigError(name, `differs from the export being resumed (${was}, in ${path}); pass the same value or delete the state file to start over`, new Date(options[name]!).toISOString());
    }
  }
}
