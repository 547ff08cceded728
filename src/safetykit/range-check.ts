/**
 * The line check of `importFile()` on a second thread that reads the part from disk itself: the
 * main thread only streams the file into the PUT (as a plain upload of the file would), and the
 * worker reads the same byte range into one reused buffer and checks every line. No bytes cross
 * between the threads (an earlier design posted each chunk to a worker and lost to the copies);
 * the worker answers once per part: its line and object counts, or where its first bad line is.
 *
 * The worker only says where the bad line is; the error itself (message, excerpt, line number)
 * is built on the main thread by the same `checkLine` as every other path, from the line read
 * again from the file, so it does not depend on which thread found it.
 */
import { isUtf8 } from 'node:buffer';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { depthExceededAt, MAX_JSON_DEPTH } from '../core/json-bytes.js';
import { isIdObjectLine } from './id-object-bytes.js';
import { FIRST_SPECIAL_WASM, firstSpecialReference, wasmSimd, type WasmApi } from './special-bytes.js';

/** What {@link judgeLines} needs besides the bytes (passed in: the worker evaluates its source). */
export interface JudgeDeps {
  isUtf8: (bytes: Uint8Array) => boolean;
  isIdObjectLine: (bytes: Buffer, start: number, end: number, clean: number) => boolean;
  depthExceededAt: (text: string, limit: number) => number;
  maxDepth: number;
  /** Where the first backslash or control character other than a newline in `bytes[from, to)` is (`to` when none): special-bytes.ts. */
  firstSpecial: (bytes: Buffer, from: number, to: number) => number;
}

/** Counts of lines judged so far; `bad` is the index (in this tally) of the first bad line, or -1. */
export interface LineTally {
  lines: number;
  objects: number;
  bad: number;
  /** Where the bad line starts (an index into the judged buffer). */
  badStart: number;
  /** The bad line is longer than `maxLineBytes`. */
  tooLong: boolean;
}

/** The deps of {@link judgeLines} on this thread. */
export const JUDGE_DEPS: JudgeDeps = { isUtf8, isIdObjectLine, depthExceededAt, maxDepth: MAX_JSON_DEPTH, firstSpecial: firstSpecialReference };

/**
 * Judge the whole lines of `b[start, end)` (`end` is just past a newline, or the end of the data,
 * whose last line may lack one), adding to `out`; stops at the first bad line. A line is good when
 * it is an object with a non-empty string `id` (proved on its bytes by `isIdObjectLine`, or else
 * by `JSON.parse`) or blank (JSON whitespace only); the same rules as `objectLineCheck()` (the
 * differential test holds them to it): valid UTF-8, nesting within `maxDepth`, at most
 * `maxLineBytes + 1` bytes before the newline.
 *
 * Self-contained (no reference outside its body): the worker evaluates its source.
 */
export function judgeLines(b: Buffer, start: number, end: number, maxLineBytes: number, deps: JudgeDeps, out: LineTally): void {
  // One native pass for the encoding of the whole run; a line is only checked alone when it fails.
  const allUtf8 = deps.isUtf8(b.subarray(start, end));
  // Bytes before `special` hold no backslash or control character: their strings are skipped whole.
  let special = start - 1;
  for (let s = start; s < end; ) {
    let e = b.indexOf(10, s);
    if (e < 0 || e > end) e = end;
    if (special < s) special = deps.firstSpecial(b, s, end);
    if (e - s > maxLineBytes + 1) {
      Object.assign(out, { bad: out.lines, badStart: s, tooLong: true });
      return;
    }
    const utf8 = allUtf8 || deps.isUtf8(b.subarray(s, e));
    if (utf8 && deps.isIdObjectLine(b, s, e, special)) {
      out.objects++;
    } else {
      let blank = true;
      for (let i = s; i < e && blank; i++) blank = b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0d;
      if (!blank) {
        let good = false;
        if (utf8) {
          const text = b.toString('utf8', s, e);
          try {
            const value = JSON.parse(text) as unknown;
            const id = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { id?: unknown }).id : undefined;
            good = typeof id === 'string' && id.length > 0 && (text.length <= deps.maxDepth * 2 || deps.depthExceededAt(text, deps.maxDepth) < 0);
          } catch {
            good = false;
          }
        }
        if (!good) {
          Object.assign(out, { bad: out.lines, badStart: s, tooLong: false });
          return;
        }
        out.objects++;
      }
    }
    out.lines++;
    s = e + 1;
  }
}

/** A part's verdict: its counts, or where its first bad line is (`offset` in the file, `index` among the part's lines). */
export interface RangeVerdict {
  lines: number;
  objects: number;
  bad?: { index: number; offset: number; tooLong: boolean };
}

interface Job {
  id: number;
  path: string;
  start: number;
  end: number;
  maxLineBytes: number;
}

interface Answer extends LineTally {
  id: number;
  /** The worker could not read the file (its message). */
  error?: string;
}

/**
 * The worker's code, run with `eval` so the same source works from `src/` (tests) and `dist/`.
 * It must stay self-contained (no imports).
 */
function rangeCheckWorker(): void {
  // Neither `require` nor a static import exists in an eval worker of an ESM package.
  const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
  const { openSync, readSync, closeSync } = process.getBuiltinModule('node:fs');
  const { isUtf8 } = process.getBuiltinModule('node:buffer');
  const data = workerData as { judgeSource: string; fastSource: string; depthSource: string; referenceSource: string; wasm: Uint8Array | undefined; maxDepth: number; chunkBytes: number };
  const evaluate = (source: string) => new Function(`return (${source})`)();
  const judge = evaluate(data.judgeSource) as typeof judgeLines;
  const deps: JudgeDeps = { isUtf8, isIdObjectLine: evaluate(data.fastSource), depthExceededAt: evaluate(data.depthSource), maxDepth: data.maxDepth, firstSpecial: evaluate(data.referenceSource) };
  // The file is read straight into the WebAssembly memory, where firstSpecial scans it 16 bytes a step.
  const wasm = data.wasm && new (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly.Instance(new (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly.Module(data.wasm)).exports;
  if (wasm) deps.firstSpecial = (_bytes, from, to) => wasm.f(from, to);
  /** A buffer of at least `size` bytes that keeps its first `keep` bytes: the WebAssembly memory (offset 0), or a Buffer. */
  const sized = (size: number, old: Buffer | undefined, keep: number): Buffer => {
    if (wasm) {
      const pages = Math.ceil(size / 65_536) - wasm.m.buffer.byteLength / 65_536;
      if (pages > 0) wasm.m.grow(pages);
      return Buffer.from(wasm.m.buffer, 0, size);
    }
    const bigger = Buffer.allocUnsafe(size);
    old?.copy(bigger, 0, 0, keep);
    return bigger;
  };
  /** Reused for every read (grown only for a line longer than it): no garbage per chunk. */
  let buffer = sized(data.chunkBytes, undefined, 0);

  const scan = ({ id, path, start, end, maxLineBytes }: Job): Answer => {
    const out: Answer = { id, lines: 0, objects: 0, bad: -1, badStart: -1, tooLong: false };
    const fd = openSync(path, 'r');
    try {
      // buffer[0, have) holds the file's bytes from `base` on: whole lines are judged, a partial last one is kept.
      let have = 0;
      let base = start;
      let position = start;
      for (;;) {
        if (have === buffer.length) {
          // One line fills the buffer: too long, or a bigger buffer (up to the longest line allowed).
          if (have > maxLineBytes + 1) return Object.assign(out, { bad: out.lines, badStart: base, tooLong: true });
          buffer = sized(Math.min(buffer.length * 2, maxLineBytes + 2), buffer, have);
        }
        const read = readSync(fd, buffer, have, Math.min(buffer.length - have, end - position), position);
        if (read === 0) throw new Error(`the file ended at byte ${position}, before the end of its part (${end}): it changed during the import`);
        have += read;
        position += read;
        const last = position >= end;
        const cut = last ? have : buffer.lastIndexOf(10, have - 1) + 1;
        if (cut > 0) {
          judge(buffer, 0, cut, maxLineBytes, deps, out);
          if (out.bad >= 0) return Object.assign(out, { badStart: base + out.badStart });
          buffer.copy(buffer, 0, cut, have);
          have -= cut;
          base += cut;
        }
        if (last) return out;
      }
    } finally {
      closeSync(fd);
    }
  };

  parentPort!.on('message', (job: Job) => {
    let answer: Answer;
    try {
      answer = scan(job);
    } catch (error) {
      answer = { id: job.id, lines: 0, objects: 0, bad: -1, badStart: -1, tooLong: false, error: (error as Error).message };
    }
    parentPort!.postMessage(answer);
  });
}

/** Options of {@link RangeChecker} (internal; tests lower the chunk size). */
export interface RangeCheckerOptions {
  /** Bytes the worker reads at once. Default 1 MiB. */
  chunkBytes?: number;
  /** Find special bytes with WebAssembly SIMD (else in JavaScript). Default: when the runtime has it. */
  wasm?: boolean;
}

/** One worker for an import run: checks parts (one at a time, in the order asked). */
export class RangeChecker {
  private worker: Worker | undefined;
  private failure: Error | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (verdict: RangeVerdict) => void; reject: (error: Error) => void }>();
  private readonly chunkBytes: number;
  private readonly useWasm: boolean;

  constructor(options: RangeCheckerOptions = {}) {
    this.chunkBytes = options.chunkBytes ?? 1024 * 1024;
    this.useWasm = options.wasm ?? wasmSimd();
  }

  /** Whether a second thread is worth it here: with one core it would only take turns with the upload. */
  static worthIt(): boolean {
    return availableParallelism() >= 2;
  }

  /**
   * Check the lines of bytes `[start, end)` of `path` on the worker. Rejects only when the
   * worker cannot do it (it failed, or could not read the file): the caller then checks the part
   * itself. A bad line is a verdict, not a rejection.
   */
  check(path: string, start: number, end: number, maxLineBytes: number): Promise<RangeVerdict> {
    const worker = this.start();
    if (!worker) return Promise.reject(this.failure);
    const id = this.nextId++;
    const answer = new Promise<RangeVerdict>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    // Held open while it works: the wait for its answer may be all that is left to do.
    worker.ref();
    worker.postMessage({ id, path, start, end, maxLineBytes } satisfies Job);
    return answer;
  }

  /** End the worker (idempotent); checks still under way are rejected. */
  close(): void {
    const worker = this.worker;
    this.worker = undefined;
    this.failure ??= new Error('the range checker was closed');
    if (worker) void worker.terminate();
    this.rejectAll(this.failure);
  }

  private start(): Worker | undefined {
    if (this.worker || this.failure) return this.worker;
    const worker = new Worker(`(${rangeCheckWorker.toString()})()`, {
      eval: true,
      workerData: {
        judgeSource: judgeLines.toString(),
        fastSource: isIdObjectLine.toString(),
        depthSource: depthExceededAt.toString(),
        referenceSource: firstSpecialReference.toString(),
        wasm: this.useWasm ? FIRST_SPECIAL_WASM : undefined,
        maxDepth: MAX_JSON_DEPTH,
        chunkBytes: this.chunkBytes,
      },
      // A small young generation keeps the worker's RSS low; it makes garbage only for lines the fast path leaves to JSON.parse.
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    worker.unref();
    worker.on('message', (answer: Answer) => this.answered(answer));
    worker.on('error', (error: Error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`the range checker's worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private answered(answer: Answer): void {
    const entry = this.pending.get(answer.id);
    if (!entry) return;
    this.pending.delete(answer.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (answer.error !== undefined) return entry.reject(new Error(answer.error));
    const { lines, objects, bad, badStart, tooLong } = answer;
    entry.resolve(bad < 0 ? { lines, objects } : { lines, objects, bad: { index: bad, offset: badStart, tooLong } });
  }

  private fail(error: Error): void {
    if (this.worker === undefined) return;
    this.failure ??= error;
    this.worker = undefined;
    this.rejectAll(error);
  }

  private rejectAll(error: Error): void {
    for (const entry of this.pending.values()) entry.reject(error);
    this.pending.clear();
  }
}
