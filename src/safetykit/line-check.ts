/**
 * Checks spooled JSONL lines (each one a JSON object with a non-empty string `id`, or blank) on
 * two cores: a `worker_threads` worker takes batches of whole lines while the main thread keeps
 * spooling, and checks a batch itself whenever the worker is behind. JSON.parse is the import's
 * bottleneck (~300 MB/s on one core), and the spooling thread is otherwise mostly waiting on I/O.
 *
 * The worker only says "line k of this batch is bad"; the exact error (message, excerpt, line
 * number) is always built on the main thread by `checkLine`, so it is the same whoever found it.
 * The first bad line wins: before an error is thrown, everything submitted earlier is settled.
 */
import { isUtf8 } from 'node:buffer';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { JsonlError } from '../core/errors.js';
import { depthExceededAt, isBlankLine, jsonLineProblem, MAX_JSON_DEPTH } from '../core/json-bytes.js';
import { objectProblem } from './errors.js';
import { isIdObjectLine } from './id-object-bytes.js';

/** Checks one line: true for an object line, false for a blank one; throws for anything else. */
export type CheckLine = (buffer: Buffer, start: number, end: number, lineNumber: number) => boolean;

/**
 * The main-thread check of one line (the worker's predicate mirrors it): true for an object line
 * with a non-empty string id, false for a blank one; a `JsonlError` naming the line otherwise.
 */
export function objectLineCheck(maxLineBytes: number, source: string | undefined): CheckLine {
  return (buffer, start, end, lineNumber) => {
    if (end - start > maxLineBytes + 1) throw tooLongLine(buffer, start, lineNumber, maxLineBytes, source);
    // The common case proved on the bytes (no decode, no parse, no garbage); anything else takes the full check.
    if (isUtf8(buffer.subarray(start, end)) && isIdObjectLine(buffer, start, end)) return true;
    // The same byte checks as every other reader (core/json-bytes.ts): encoding, invalid UTF-8, nesting depth.
    const found = jsonLineProblem(buffer, start, end, lineNumber);
    if (found) throw new JsonlError(lineNumber, found.problem, buffer.toString('utf8', start, Math.min(end, start + 80)), { source });
    const line = buffer.toString('utf8', start, end);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      if (isBlankLine(line)) return false;
      throw new JsonlError(lineNumber, (error as Error).message, line, { source, cause: error });
    }
    const problem = objectProblem(value);
    if (problem !== undefined) throw new JsonlError(lineNumber, problem, line, { source });
    return true;
  };
}

/** The error of a line longer than `maxLineBytes` (its first 80 bytes as the excerpt). */
export function tooLongLine(buffer: Buffer, start: number, lineNumber: number, maxLineBytes: number, source: string | undefined): JsonlError {
  return new JsonlError(lineNumber, `line is longer than maxLineBytes (${maxLineBytes})`, buffer.toString('utf8', start, start + 80), { source });
}

/** Options of {@link LineChecker} (internal; tests lower the thresholds). */
export interface LineCheckerOptions {
  /** Text checked on the main thread before the worker starts (small imports never start it). Default 4 MiB. */
  workerAfterBytes?: number;
  /** Bytes of lines sent to the worker at once. Default 256 KiB. */
  batchBytes?: number;
  /** Start no worker at all. Default: only when the machine has at least 2 cores. */
  useWorker?: boolean;
}

/** Batches in the worker (sent, not answered) beyond which the main thread checks lines itself. */
const MAX_IN_WORKER = 2;

/**
 * The worker's code, run with `eval` so the same source works from `src/` (tests) and `dist/`.
 * It must stay self-contained (no imports). The predicate mirrors `Spool.checkLine`.
 */
function lineCheckWorker(): void {
  // Neither `require` nor a static import exists in an eval worker of an ESM package.
  const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
  // The depth check is core's own function (self-contained), sent as source: no copy of it here.
  const { depthSource, fastSource, maxDepth } = workerData as { depthSource: string; fastSource: string; maxDepth: number };
  const depthExceededAt = new Function(`return (${depthSource})`)() as (text: string, limit: number) => number;
  // The byte-level proof of the common line (id-object-bytes.ts), also sent as source.
  const isIdObjectLine = new Function(`return (${fastSource})`)() as (bytes: Uint8Array, start: number, end: number) => boolean;
  const lineOk = (line: string): boolean => {
    try {
      const value = JSON.parse(line) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
      const id = (value as { id?: unknown }).id;
      return typeof id === 'string' && id.length > 0 && (line.length <= maxDepth * 2 || depthExceededAt(line, maxDepth) < 0);
    } catch {
      // JSON whitespace only, as core's isBlankLine (this worker's source cannot import it).
      return /^[ \t\r\n]*$/.test(line);
    }
  };
  parentPort!.on('message', (message: { id: number; bytes: Uint8Array; length: number }) => {
    const buffer = Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.length);
    let bad = -1;
    for (let start = 0, index = 0; start < buffer.length; index++) {
      let end = buffer.indexOf(10, start);
      if (end < 0) end = buffer.length;
      // Batches hold valid UTF-8 only (checked before they are sent), as the fast path requires.
      if (!isIdObjectLine(buffer, start, end) && !lineOk(buffer.toString('utf8', start, end))) {
        bad = index;
        break;
      }
      start = end + 1;
    }
    // The buffer goes back to the main thread's pool.
    parentPort!.postMessage({ id: message.id, bad, bytes: message.bytes }, [message.bytes.buffer as ArrayBuffer]);
  });
}

interface Batch {
  id: number;
  bytes: Uint8Array;
  length: number;
  /** Where each appended run of lines starts: line index within the batch, and its input line number. */
  segments: Array<{ index: number; line: number }>;
  lines: number;
  done: Promise<void>;
}

export class LineChecker {
  private readonly workerAfterBytes: number;
  private readonly batchBytes: number;
  private readonly useWorker: boolean;
  private worker: Worker | undefined;
  private checkedBytes = 0;
  private nextId = 0;
  private current: Batch | undefined;
  private readonly inWorker = new Map<number, { batch: Batch; resolve: () => void; reject: (error: Error) => void }>();
  /** Returned batch buffers, reused (no steady allocation, so no external-memory growth). */
  private readonly pool: Uint8Array[] = [];
  /** The bad line with the lowest number found so far (by either thread). */
  private firstError: { line: number; error: Error } | undefined;
  private workerError: Error | undefined;
  /** Lines the worker has checked (for tests and benchmarks). */
  workerLines = 0;

  constructor(
    private readonly checkLine: CheckLine,
    options: LineCheckerOptions = {},
  ) {
    this.workerAfterBytes = options.workerAfterBytes ?? 4 * 1024 * 1024;
    this.batchBytes = options.batchBytes ?? 256 * 1024;
    this.useWorker = options.useWorker ?? availableParallelism() >= 2;
  }

  /** True once the worker has started (and not ended). */
  get workerRunning(): boolean {
    return this.worker !== undefined;
  }

  /**
   * Check the whole lines `buffer[start, end)` (ending with a newline) whose first line is
   * `firstLine`. May return before they are checked; {@link settle} waits. Throws (after settling)
   * when a bad line is already known.
   */
  async check(buffer: Buffer, start: number, end: number, firstLine: number, lines: number): Promise<void> {
    if (end <= start) return;
    if (this.firstError) return this.fail();
    // The worker's JSON.parse would take invalid UTF-8 (as U+FFFD): such lines are checked here.
    if (!isUtf8(buffer.subarray(start, end))) return this.checkHere(buffer, start, end, firstLine);
    this.checkedBytes += end - start;
    const worker = this.useWorker && this.checkedBytes > this.workerAfterBytes ? this.startWorker() : undefined;
    if (!worker || (this.inWorker.size >= MAX_IN_WORKER && !this.current)) return this.checkHere(buffer, start, end, firstLine);
    const batch = (this.current ??= this.newBatch(end - start));
    if (batch.length + (end - start) > batch.bytes.length) {
      this.send(batch);
      return this.check(buffer, start, end, firstLine, lines);
    }
    buffer.copy(batch.bytes, batch.length, start, end);
    batch.length += end - start;
    batch.segments.push({ index: batch.lines, line: firstLine });
    batch.lines += lines;
    if (batch.length >= this.batchBytes) this.send(batch);
  }

  /** Wait until every submitted line is checked; throw the first bad line's error, if any. */
  async settle(): Promise<void> {
    if (this.current) this.send(this.current);
    while (this.inWorker.size > 0) await Promise.all([...this.inWorker.values()].map((entry) => entry.batch.done));
    if (this.workerError) throw this.workerError;
    if (this.firstError) throw this.firstError.error;
  }

  /** Record a bad line found by the caller itself, then settle (an earlier line may be bad too). */
  async fail(error?: Error, line = Number.POSITIVE_INFINITY): Promise<never> {
    if (error) this.noteError(line, error);
    await this.settle();
    throw this.firstError!.error;
  }

  /** End the worker (idempotent). Batches still in it are dropped. */
  close(): void {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    void worker.terminate();
    for (const entry of this.inWorker.values()) entry.reject(new Error('line checker closed'));
    this.inWorker.clear();
  }

  private checkHere(buffer: Buffer, start: number, end: number, firstLine: number): Promise<void> | undefined {
    let line = firstLine;
    for (let lineStart = start; lineStart < end; line++) {
      const lineEnd = buffer.indexOf(10, lineStart);
      try {
        this.checkLine(buffer, lineStart, lineEnd, line);
      } catch (error) {
        return this.fail(error as Error, line);
      }
      lineStart = lineEnd + 1;
    }
    return undefined;
  }

  private noteError(line: number, error: Error): void {
    if (!this.firstError || line < this.firstError.line) this.firstError = { line, error };
  }

  private newBatch(size: number): Batch {
    const capacity = Math.max(this.batchBytes * 2, size);
    const pooled = this.pool.pop();
    const bytes = pooled && pooled.length >= capacity ? pooled : new Uint8Array(capacity);
    return { id: this.nextId++, bytes, length: 0, segments: [], lines: 0, done: Promise.resolve() };
  }

  private send(batch: Batch): void {
    if (this.current === batch) this.current = undefined;
    const worker = this.worker;
    if (!worker) return;
    batch.done = new Promise<void>((resolve, reject) => this.inWorker.set(batch.id, { batch, resolve, reject })).catch(() => undefined);
    worker.postMessage({ id: batch.id, bytes: batch.bytes, length: batch.length }, [batch.bytes.buffer as ArrayBuffer]);
  }

  private startWorker(): Worker | undefined {
    if (this.worker || this.workerError) return this.worker;
    const worker = new Worker(`(${lineCheckWorker.toString()})()`, {
      workerData: { depthSource: depthExceededAt.toString(), fastSource: isIdObjectLine.toString(), maxDepth: MAX_JSON_DEPTH },
      eval: true,
      // A small young generation keeps the worker's RSS low; JSON.parse garbage dies young anyway.
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    worker.unref();
    worker.on('message', (answer: { id: number; bad: number; bytes: Uint8Array }) => this.answered(answer));
    worker.on('error', (error) => {
      this.workerError ??= error;
      this.close();
    });
    this.worker = worker;
    return worker;
  }

  private answered(answer: { id: number; bad: number; bytes: Uint8Array }): void {
    const entry = this.inWorker.get(answer.id);
    if (!entry) return;
    this.inWorker.delete(answer.id);
    const { batch } = entry;
    batch.bytes = answer.bytes;
    if (answer.bad < 0) {
      this.workerLines += batch.lines;
    } else {
      // Rebuild the exact error here, from the line the worker pointed at.
      const segment = batch.segments.findLast((s) => s.index <= answer.bad)!;
      const line = segment.line + (answer.bad - segment.index);
      const buffer = Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.length);
      let start = 0;
      for (let i = 0; i < answer.bad; i++) start = buffer.indexOf(10, start) + 1;
      try {
        this.checkLine(buffer, start, buffer.indexOf(10, start), line);
        this.noteError(line, new Error(`line ${line} was refused by the line checker`));
      } catch (error) {
        this.noteError(line, error as Error);
      }
    }
    if (batch.bytes.length <= this.batchBytes * 2) this.pool.push(batch.bytes);
    entry.resolve();
  }
}
