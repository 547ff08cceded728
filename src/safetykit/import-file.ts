/**
 * `importFile()`: import a JSONL file, or a file holding one JSON array, on disk without copying
 * it. Each part (a byte range of whole lines, at most `partBytes`) is checked line by line while
 * the file itself streams into the pre-signed PUT; a bad line cuts the PUT short, so nothing of
 * it is imported. A JSON array goes up as its JSONL view (json-array-view.ts): each element on
 * one line, its text unchanged. The lines of a JSONL part are checked by a worker thread that
 * reads the same bytes from disk itself (range-check.ts); this thread only streams them.
 *
 * Resumable: a state file beside the input records each part's range, request id and progress,
 * saved durably before and after every PUT, and keyed to the file's identity (size, mtime and a
 * hash of its first and last 64 KiB). Running the same import again skips the parts an earlier
 * run uploaded, polls their requests, and uploads only the rest. A lock beside the state keeps
 * two runs of the same import from working at once.
 */
import { setMaxListeners } from 'node:events';
import { context, type Context } from '@opentelemetry/api';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { ConfigError, ImportFailedError, JsonArrayError, JsonlError } from '../core/errors.js';
import { isDescriptorPath, readFileIdentity } from '../core/file-identity.js';
import { acquireLock } from '../core/lock-file.js';
import { DEFAULT_MAX_LINE_BYTES } from '../core/jsonl.js';
import { booleanOption, integerOption, stringOption } from '../core/options.js';
import type { TraceParent } from '../core/request-telemetry.js';
import { baseStats, type BaseStats } from '../core/stats.js';
import { ATTR, SPAN, inSpan } from '../core/telemetry.js';
import { createImport, fetchRequestStatus, isExpiredUpload, uploadBody } from './client.js';
import { resolveSafetykit, type SafetykitConfig, type SafetykitOptions } from './config.js';
import { LineScan, checkedFileBody, fileRangeBody } from './file-body.js';
import { ImportStateFile, type ImportFileFormat, type ImportPartState, type ImportState } from './import-state.js';
import type { ImportEvent, ImportWriterSummary } from './import-writer.js';
import { ArrayScan, arrayElementCheck, elementError, JsonArrayFile } from './json-array-view.js';
import { objectLineCheck, tooLongLine, type CheckLine } from './line-check.js';
import { RangeChecker, type RangeVerdict } from './range-check.js';
import { pollUntilFinal, resolvePoll, type PollOptions, type ResolvedPoll } from './requests.js';
import { removeStaleSpools } from './spool.js';

const GiB = 1024 * 1024 * 1024;
/** An expired upload URL is replaced by a new import request at most this many times per part. */
const MAX_URL_RENEWALS = 3;
/** Parts up to this size are checked before their import is requested (bigger ones while they upload). */
const PRECHECK_BYTES = 1024 * 1024;
/** Statuses of a request whose file has not arrived (GET says `uploading`; the POST said `pending_upload`). */
const NOT_UPLOADED = new Set(['uploading', 'pending_upload']);

/** Options of {@link importFile}. */
export interface ImportFileOptions extends SafetykitOptions, PollOptions {
  /** The file to import: a regular file (not a pipe, a device, or a path under `/dev` or `/proc`). Required. */
  file: string;
  /**
   * What the file holds: `jsonl` (one object per line) or `json` (one JSON array of objects, or
   * `{"data": [...]}`; each element is uploaded as one JSONL line, its text unchanged). Default `jsonl`.
   */
  format?: ImportFileFormat;
  /** Where the resume state is kept (and its lock, this path + `.lock`). Default `file + '.import-state.json'`. */
  stateFile?: string;
  /** Start a new import (a separate request) when a part would exceed this many bytes. Default 1 GiB. */
  partBytes?: number;
  /** Poll each import until `succeeded` (or `failed` → `ImportFailedError`) before resolving. Default true. */
  wait?: boolean;
  /** Longest input line accepted, in bytes. Default 16 MiB. */
  maxLineBytes?: number;
  /** Name of the input shown in errors (`listings.jsonl:7`). Default the `file` option. */
  source?: string;
  /** Timeout of one upload PUT (the whole body), in ms. Default 3 600 000 (1 h). */
  uploadTimeoutMs?: number;
  /** Where `importWriter()` spools: its directories left there by killed runs are removed. Default the OS temp dir. */
  spoolDir?: string;
  /** Called with the counters, at most every 100 ms and at the end. Default none. */
  onProgress?: (stats: ImportFileStats) => void;
  /** Called when a part moves on (`requested`, `uploaded`, `succeeded`), resumed parts included. Default none. */
  onImport?: (event: ImportEvent) => void;
}

/** Counters of an {@link importFile} run. `bytes` counts bytes uploaded by this run. */
export interface ImportFileStats extends BaseStats {
  phase: 'uploading' | 'polling' | 'done';
  /** Objects in the parts checked or resumed so far. */
  objects: number;
  /** Size of the file. */
  fileBytes: number;
  /** Parts known so far (recorded or started). */
  parts: number;
  /** Parts whose upload is done (by this run or an earlier one). */
  partsUploaded: number;
  /** Parts uploaded by an earlier run and not sent again. */
  partsSkipped: number;
  partsSucceeded: number;
  /** Status checks made. */
  polls: number;
}

/** What an {@link importFile} run did. Totals cover the whole file, earlier (resumed) runs included. */
export interface ImportFileSummary extends ImportWriterSummary {
  /** True when an earlier run's state was found and resumed. */
  resumed: boolean;
  /** Parts an earlier run had uploaded: not sent again. */
  partsSkipped: number;
  /** The state file (kept after the import, so that running it again sends nothing twice). */
  stateFile: string;
}

/**
 * Import the file `file` (JSONL, or a JSON array with `format: 'json'`) into `namespace`,
 * resumably; resolves once every part is uploaded (and, with `wait`, succeeded). Throws
 * `LockedError` while another run of the same import (same state file) is under way, and
 * `InputChangedError` when the file is not the one its state records.
 */
export async function importFile(options: ImportFileOptions): Promise<ImportFileSummary> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object with at least namespace and file');
  const file = stringOption('file', options.file, true);
  const config = resolveSafetykit(options);
  for (const name of ['onProgress', 'onImport'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new ConfigError(name, 'must be a function', options[name]);
  }
  if (options.format !== undefined && options.format !== 'jsonl' && options.format !== 'json') throw new ConfigError('format', 'must be "jsonl" or "json"', options.format);
  const settings: RunSettings = {
    file,
    format: options.format ?? 'jsonl',
    poll: resolvePoll(options),
    wait: booleanOption('wait', options.wait, true),
    partBytes: integerOption('partBytes', options.partBytes, GiB, 1, 5 * 1024 * GiB),
    maxLineBytes: integerOption('maxLineBytes', options.maxLineBytes, DEFAULT_MAX_LINE_BYTES, 1, GiB),
    uploadTimeoutMs: integerOption('uploadTimeoutMs', options.uploadTimeoutMs, 3_600_000, 1, 7 * 86_400_000),
    source: stringOption('source', options.source) ?? file,
    onProgress: options.onProgress,
    onImport: options.onImport,
  };
  const stateFile = new ImportStateFile(stringOption('stateFile', options.stateFile) ?? `${file}.import-state.json`);
  const spoolDir = stringOption('spoolDir', options.spoolDir) ?? tmpdir();

  const identity = await readFileIdentity(file);
  if (!identity.isFile || isDescriptorPath(file)) throw new ConfigError('file', 'must be a regular file, not a pipe or device (stream anything else through importWriter())', file);
  // Before the state is read: a second run must not resume from what the first one is changing.
  const lock = await acquireLock(`${stateFile.path}.lock`, `An import of ${file} (state ${stateFile.path})`);
  try {
    await removeStaleSpools(spoolDir);
    const { state, resumed } = await stateFile.open(file, identity, config.namespace, settings.format);
    return await new FileImportRun(config, settings, stateFile, state, resumed).run();
  } finally {
    await lock.release();
  }
}

interface RunSettings {
  file: string;
  format: ImportFileFormat;
  poll: ResolvedPoll;
  wait: boolean;
  partBytes: number;
  maxLineBytes: number;
  uploadTimeoutMs: number;
  source: string;
  onProgress: ((stats: ImportFileStats) => void) | undefined;
  onImport: ((event: ImportEvent) => void) | undefined;
}

class FileImportRun {
  private readonly stats: ImportFileStats;
  private readonly controller = new AbortController();
  private readonly signal: AbortSignal;
  private readonly checkLine: CheckLine;
  /** Set for a JSON array (`format: 'json'`). */
  private readonly array: JsonArrayFile | undefined;
  private readonly started = Date.now();
  private readonly polls: Array<Promise<void>> = [];
  private uploadedBytes = 0;
  private lastProgress = 0;
  private failure: Error | undefined;
  /** Saves are chained: the state object changes while one is under way. */
  private saving: Promise<void> = Promise.resolve();
  /** The context the import was started in: its upload spans sit under that context's span. */
  private readonly traceParent: Context = context.active();
  /** The worker that checks JSONL parts (started with the first part it checks). */
  private rangeChecker: RangeChecker | undefined;
  private useWorker = RangeChecker.worthIt();
  /** Each part's check by the worker, shared by every attempt of its PUT. */
  private readonly verdicts = new Map<ImportPartState, Promise<{ lines: number; objects: number }>>();

  constructor(
    private readonly config: SafetykitConfig,
    private readonly settings: RunSettings,
    private readonly stateFile: ImportStateFile,
    private readonly state: ImportState,
    private readonly resumed: boolean,
  ) {
    this.stats = { ...baseStats(), phase: 'uploading', objects: 0, fileBytes: state.size, parts: 0, partsUploaded: 0, partsSkipped: 0, partsSucceeded: 0, polls: 0 };
    setMaxListeners(0, this.controller.signal);
    this.signal = config.signal ? AbortSignal.any([config.signal, this.controller.signal]) : this.controller.signal;
    setMaxListeners(0, this.signal);
    if (settings.format === 'json') {
      this.array = new JsonArrayFile(settings.file, state.size, settings.source, settings.maxLineBytes);
      this.checkLine = arrayElementCheck(settings.maxLineBytes, settings.source);
    } else {
      this.checkLine = objectLineCheck(settings.maxLineBytes, settings.source);
    }
  }

  async run(): Promise<ImportFileSummary> {
    try {
      const { parts } = this.state;
      const first = parts.length > 0 ? undefined : await this.firstByte();
      // Whether a JSON array is {"data": [...]}'s, recorded once (a state saved before it was recorded learns it now).
      if (this.array && this.state.wrapped === undefined) this.state.wrapped = (first ?? (await this.array.firstElement())).wrapped ?? false;
      // A wrapper with another array beside "data" is refused before its first part is uploaded.
      if (this.array && first && this.state.wrapped) await this.array.checkWrapper(first.start, first.fileLine ?? 1);
      let offset = parts.length > 0 ? parts.at(-1)!.end : first!.start;
      for (let index = 0; index < parts.length || offset < this.dataEnd(); index++) {
        if (this.failure) throw this.failure;
        let part = parts[index];
        if (part === undefined) {
          const previous = parts[index - 1];
          const firstLine = previous ? previous.firstLine + (await this.linesOf(previous)) : 1;
          const next = await this.nextPart(offset, firstLine, previous, first);
          // An empty JSON array has no part.
          if (next === undefined) break;
          part = next;
          offset = part.end;
        }
        this.stats.parts = Math.max(this.stats.parts, index + 1);
        await this.runPart(part, index).catch((error: unknown) => this.describeBadElement(error, part));
      }
      // Every part is uploaded: the worker is not needed while the polls finish.
      this.rangeChecker?.close();
      await Promise.all(this.polls);
      if (this.failure) throw this.failure;
      await this.saving;
      this.stats.phase = 'done';
      this.progress(true);
      return this.summary();
    } catch (error) {
      // The first real error is the one reported: recorded before the abort below, whose
      // AbortErrors (background polls stopped mid-wait) must not take its place.
      this.failure ??= error as Error;
      this.controller.abort();
      this.rangeChecker?.close();
      await Promise.allSettled([...this.polls, this.saving]);
      throw this.failure;
    }
  }

  /** One part: skip it (uploaded earlier), finish an upload an earlier run began, or upload it; then poll in the background. */
  private async runPart(part: ImportPartState, index: number): Promise<void> {
    const earlier = part.uploaded && part.status !== 'failed';
    if (!earlier) {
      if (!this.state.parts.includes(part)) this.state.parts.push(part);
      await this.upload(part, index);
    } else {
      this.stats.partsSkipped++;
    }
    this.stats.partsUploaded++;
    this.stats.objects += part.objects ?? 0;
    this.emit({ stage: 'uploaded', part: index, requestId: part.requestId!, objects: part.objects ?? 0, bytes: part.end - part.start, ...(earlier ? { resumed: true } : {}) });
    if (part.status === 'succeeded') {
      this.stats.partsSucceeded++;
      this.emit({ stage: 'succeeded', part: index, requestId: part.requestId!, objects: part.objects ?? 0, bytes: part.end - part.start, resumed: true });
      return;
    }
    if (!this.settings.wait) return;
    const polling = this.pollPart(part, index).catch((error: Error) => {
      this.failure ??= error;
      // Stop the upload under way: the run has failed.
      this.controller.abort();
    });
    this.polls.push(polling);
  }

  /** One span per part uploaded: its import request(s), and every attempt of its PUT. */
  private upload(part: ImportPartState, index: number): Promise<void> {
    const attributes = { [ATTR.part]: index, [ATTR.requestBodySize]: part.end - part.start };
    return inSpan(SPAN.safetykitUpload, attributes, (uploadContext) => this.uploadPart(part, index, { parent: uploadContext }), this.traceParent);
  }

  private async uploadPart(part: ImportPartState, index: number, trace: TraceParent): Promise<void> {
    if (part.requestId !== undefined && part.status !== 'failed') {
      // An earlier run asked for this part's import and may have sent it: ask where it is.
      const status = await fetchRequestStatus(this.config, part.requestId, this.extras(trace));
      this.stats.requests++;
      if (!NOT_UPLOADED.has(status.status) && status.status !== 'failed') {
        await this.confirmUploaded(part, status.status);
        return;
      }
      // Not arrived: the same bytes again to the same URL (a PUT overwrites), so this stays one import.
      if (status.status !== 'failed' && part.uploadUrl && !urlExpired(part.uploadExpiresAt)) {
        const sent = await this.put(part, part.uploadUrl, trace).catch((error: unknown) => {
          if (isExpiredUpload(error, part.uploadExpiresAt)) return false;
          throw error;
        });
        if (sent) return;
      }
    }
    // A small part is checked whole before anything is asked for: a bad line then costs no request.
    if (part.lines === undefined && part.end - part.start <= PRECHECK_BYTES) await this.linesOf(part);
    // A bigger one is started on the worker now: its check runs while the import is asked for.
    if (this.checksOnWorker(part)) this.verdictOf(part);
    for (let renewal = 0; ; renewal++) {
      const ticket = await createImport(this.config, this.extras(trace));
      this.stats.requests++;
      Object.assign(part, { requestId: ticket.requestId, uploadUrl: ticket.upload_url, uploadExpiresAt: ticket.expires_at, uploaded: false, status: undefined });
      // Durable before the first byte leaves: a killed run must find this request again.
      await this.save();
      this.emit({ stage: 'requested', part: index, requestId: ticket.requestId, objects: part.objects ?? 0, bytes: part.end - part.start });
      try {
        await this.put(part, ticket.upload_url, trace);
        return;
      } catch (error) {
        if (renewal < MAX_URL_RENEWALS && isExpiredUpload(error, ticket.expires_at)) continue;
        throw error;
      }
    }
  }

  /** PUT the part's bytes, checking its lines on the way (once: a retry after a complete check sends the file as it is). */
  private async put(part: ImportPartState, uploadUrl: string, trace: TraceParent): Promise<true> {
    const size = part.end - part.start;
    // JSONL on two cores: the worker reads and checks the part while this thread only streams it.
    const verdict = this.checksOnWorker(part) ? this.verdictOf(part) : undefined;
    let scan: LineScan | undefined;
    const onRetry = () => void (this.stats.retries++, this.stats.requests++);
    const onProgress = (sent: number) => {
      this.stats.bytes = this.uploadedBytes + sent;
      this.progress();
    };
    this.stats.phase = 'uploading';
    this.stats.requests++;
    await uploadBody(
      uploadUrl,
      size,
      () => {
        if (verdict) return checkedFileBody(this.settings.file, part.start, part.end, verdict, onProgress);
        // A retry after a complete check (the store failed after the last byte) sends the file as it is.
        if (scan?.done) Object.assign(part, { lines: scan.lines, objects: scan.objects });
        scan?.close();
        scan = part.lines === undefined ? new LineScan(part.firstLine, this.checkLine, this.settings.maxLineBytes, this.settings.source) : undefined;
        return fileRangeBody(this.settings.file, part.start, part.end, scan, onProgress, this.viewOf());
      },
      { timeoutMs: this.settings.uploadTimeoutMs, retry: this.config.retry, signal: this.signal, onRetry, trace },
    );
    // The PUT succeeded only after the last chunk, which waits for the whole check.
    if (verdict) Object.assign(part, await verdict);
    if (scan?.done) Object.assign(part, { lines: scan.lines, objects: scan.objects });
    this.uploadedBytes += size;
    this.stats.bytes = this.uploadedBytes;
    await this.confirmUploaded(part, undefined);
    return true;
  }

  /** Whether the part's lines are checked by the worker (JSONL, not checked yet, two cores). */
  private checksOnWorker(part: ImportPartState): boolean {
    return part.lines === undefined && !this.array && this.useWorker;
  }

  /**
   * The check of a part by the worker (started once per part: every attempt of its PUT waits for
   * the same verdict): its counts, or the `JsonlError` of its first bad line. Should the worker
   * fail, this thread checks the part instead, and every later part.
   */
  private verdictOf(part: ImportPartState): Promise<{ lines: number; objects: number }> {
    let verdict = this.verdicts.get(part);
    if (verdict === undefined) {
      verdict = this.checkOnWorker(part);
      // Read by the body and after the PUT; a PUT that fails first must not leave it unhandled.
      verdict.catch(() => undefined);
      this.verdicts.set(part, verdict);
    }
    return verdict;
  }

  private async checkOnWorker(part: ImportPartState): Promise<{ lines: number; objects: number }> {
    let found: RangeVerdict;
    try {
      found = await (this.rangeChecker ??= new RangeChecker()).check(this.settings.file, part.start, part.end, this.settings.maxLineBytes);
    } catch (error) {
      // The run has failed (the worker was closed with it): nothing more to check.
      if (this.signal.aborted) throw error;
      this.useWorker = false;
      return this.scanPart(part);
    }
    if (found.bad) throw await this.badLineError(part, found.bad.offset, part.firstLine + found.bad.index, found.bad.tooLong);
    return { lines: found.lines, objects: found.objects };
  }

  /** The error of the line the worker refused, built here by the same check as every other path. */
  private async badLineError(part: ImportPartState, offset: number, lineNumber: number, tooLong: boolean): Promise<Error> {
    const { maxLineBytes, source } = this.settings;
    const bytes = await this.read(offset, Math.min(part.end - offset, maxLineBytes + 2));
    if (tooLong) return tooLongLine(bytes, 0, lineNumber, maxLineBytes, source);
    const newline = bytes.indexOf(10);
    try {
      this.checkLine(bytes, 0, newline < 0 ? bytes.length : newline, lineNumber);
    } catch (error) {
      return error as Error;
    }
    return new JsonlError(lineNumber, 'refused by the line check', bytes.toString('utf8', 0, Math.min(bytes.length, 80)), { source });
  }

  private async confirmUploaded(part: ImportPartState, status: string | undefined): Promise<void> {
    if (part.lines === undefined) await this.linesOf(part);
    part.uploaded = true;
    part.status = status;
    delete part.uploadUrl;
    delete part.uploadExpiresAt;
    await this.save();
  }

  private async pollPart(part: ImportPartState, index: number): Promise<void> {
    const status = await pollUntilFinal(this.config, part.requestId!, this.settings.poll, {
      signal: this.signal,
      onPoll: () => {
        this.stats.polls++;
        this.stats.requests++;
        if (this.stats.phase !== 'uploading') this.stats.phase = 'polling';
        this.progress();
      },
    }).catch(async (error: unknown) => {
      if (error instanceof ImportFailedError) {
        part.status = 'failed';
        await this.save();
      }
      throw error;
    });
    part.status = status.status;
    this.stats.partsSucceeded++;
    await this.save();
    this.emit({ stage: 'succeeded', part: index, requestId: part.requestId!, objects: part.objects ?? 0, bytes: part.end - part.start, status });
  }

  /**
   * The part's line count, reading (and checking) the part once when it is not known yet: a small
   * part before its upload, or one whose upload an earlier run finished without recording it.
   */
  private async linesOf(part: ImportPartState): Promise<number> {
    if (part.lines === undefined) Object.assign(part, await this.scanPart(part));
    return part.lines!;
  }

  /** Read and check the part on this thread: its line and object counts, or its first bad line's error. */
  private async scanPart(part: ImportPartState): Promise<{ lines: number; objects: number }> {
    const scan = new LineScan(part.firstLine, this.checkLine, this.settings.maxLineBytes, this.settings.source);
    const handle = await open(this.settings.file, 'r');
    try {
      const view = this.viewOf();
      for await (const chunk of handle.createReadStream({ start: part.start, end: part.end - 1, autoClose: false })) {
        view?.(chunk as Buffer);
        await scan.feed(chunk as Buffer);
      }
      await scan.finish();
    } finally {
      scan.close();
      await handle.close();
    }
    return { lines: scan.lines, objects: scan.objects };
  }

  /**
   * Where the first part starts: after a UTF-8 byte order mark, which the service would not
   * parse; in a JSON array, after its `[`.
   */
  private async firstByte(): Promise<{ start: number; fileLine?: number; wrapped?: boolean }> {
    if (this.array) return this.array.firstElement();
    const head = await this.read(0, 3);
    return { start: head.length === 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0 };
  }

  /** Where the data ends: the file's end, or a JSON array's `]` (unknown, so infinite, until a part reaches it). */
  private dataEnd(): number {
    return this.array ? (this.state.arrayEnd ?? Number.POSITIVE_INFINITY) : this.state.size;
  }

  /** The part that starts at `offset`, or undefined when a JSON array turns out to be empty. */
  private async nextPart(offset: number, firstLine: number, previous: ImportPartState | undefined, first: { fileLine?: number } | undefined): Promise<ImportPartState | undefined> {
    if (!this.array) return { start: offset, end: await this.partEnd(offset), firstLine, uploaded: false };
    const fileLine = previous ? previous.fileLine! + (previous.newlines ?? 0) : (first?.fileLine ?? 1);
    const found = await this.array.partEnd(offset, this.settings.partBytes, fileLine, previous === undefined, this.state.wrapped ?? false);
    if (found.last) this.state.arrayEnd = found.end;
    if (found.empty) return undefined;
    return { start: offset, end: found.end, firstLine, fileLine, newlines: found.newlines, uploaded: false };
  }

  /** A bad element of a JSON array: its index and line in the file (the check itself saw a line of the view). */
  private async describeBadElement(error: unknown, part: ImportPartState): Promise<never> {
    if (!this.array || !(error instanceof JsonlError) || error instanceof JsonArrayError) throw error;
    throw await elementError(error, this.array, part, this.settings.source);
  }

  /** A new mapper of the part's bytes into what is uploaded: the JSONL view of a JSON array; none for JSONL. */
  private viewOf(): ((chunk: Buffer) => void) | undefined {
    if (!this.array) return undefined;
    const scan = new ArrayScan();
    return (chunk) => void scan.scan(chunk, true);
  }

  /**
   * End of the part that starts at `start`: just after the last newline within `partBytes`, found
   * by reading backwards from there (no pass over the file). A line longer than `partBytes` makes
   * a part of its own.
   */
  private async partEnd(start: number): Promise<number> {
    const { size } = this.state;
    const limit = start + this.settings.partBytes;
    if (limit >= size) return size;
    const window = 64 * 1024;
    for (let to = limit; to > start; to -= window) {
      const from = Math.max(start, to - window);
      const bytes = await this.read(from, to - from);
      const newline = bytes.lastIndexOf(10);
      if (newline >= 0) return from + newline + 1;
    }
    // One line longer than partBytes: it ends at the next newline (the check stops one longer than maxLineBytes).
    const stop = Math.min(size, limit + this.settings.maxLineBytes + 2);
    for (let from = limit; from < stop; from += window) {
      const bytes = await this.read(from, Math.min(window, stop - from));
      const newline = bytes.indexOf(10);
      if (newline >= 0) return from + newline + 1;
    }
    return stop;
  }

  private async read(position: number, length: number): Promise<Buffer> {
    const handle = await open(this.settings.file, 'r');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  private save(): Promise<void> {
    this.saving = this.saving.then(() => this.stateFile.save(this.state));
    return this.saving;
  }

  private extras(trace?: TraceParent) {
    return { signal: this.signal, onRetry: () => void (this.stats.retries++, this.stats.requests++), trace };
  }

  private emit(event: ImportEvent): void {
    this.settings.onImport?.(event);
    this.progress();
  }

  private progress(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastProgress < 100) return;
    this.lastProgress = now;
    this.stats.elapsedMs = now - this.started;
    this.settings.onProgress?.({ ...this.stats });
  }

  private summary(): ImportFileSummary {
    const statuses: Record<string, number> = {};
    for (const part of this.state.parts) {
      const status = part.status ?? 'uploaded';
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
    return {
      requestIds: this.state.parts.map((part) => part.requestId!),
      objects: this.state.parts.reduce((sum, part) => sum + (part.objects ?? 0), 0),
      bytes: this.uploadedBytes,
      statuses,
      retries: this.stats.retries,
      elapsedMs: Date.now() - this.started,
      resumed: this.resumed,
      partsSkipped: this.stats.partsSkipped,
      stateFile: this.stateFile.path,
    };
  }
}

function urlExpired(expiresAt: string | undefined): boolean {
  const expiry = expiresAt ? Date.parse(expiresAt) : NaN;
  return !Number.isNaN(expiry) && expiry <= Date.now() + 60_000;
}
