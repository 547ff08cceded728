/**
 * The import writer's spool: checked JSONL lines written to temp files, one per part, so memory
 * stays flat for any input size. Knows nothing of HTTP.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { JsonlError } from '../core/errors.js';
import { oneLine, type JsonText } from '../core/json-text.js';
import { processAlive } from '../core/process-alive.js';
import { objectProblem } from './errors.js';
import { LineChecker, objectLineCheck, tooLongLine, type CheckLine, type LineCheckerOptions } from './line-check.js';

/** A finished spool file, ready to upload. */
export interface SpoolPart {
  /** 0-based. */
  index: number;
  path: string;
  bytes: number;
  objects: number;
  /** 1-based input line of the part's first object. */
  firstLine: number;
}

/** Spool directories are named `<prefix><pid>-<random>`, so a later run can tell whose they are. */
const SPOOL_PREFIX = 'inference-streams-import-';
/** Directories of `keepSpool` runs: never removed by a later run. */
const KEPT_PREFIX = 'inference-streams-import-kept-';
/** A spool directory of the older name (no pid) is removed once it is this old. */
const UNNAMED_STALE_MS = 24 * 3600_000;

/**
 * Remove the spool directories that earlier runs left in `spoolDir` when they were killed: those
 * whose process is gone (a killed 50 GB import must not keep 50 GB of temp files). A running
 * import's spool, in this or another process, is left alone. Returns how many were removed.
 */
export async function removeStaleSpools(spoolDir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(spoolDir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (!name.startsWith(SPOOL_PREFIX) || name.startsWith(KEPT_PREFIX)) continue;
    const path = join(spoolDir, name);
    const pid = /^(\d+)-/.exec(name.slice(SPOOL_PREFIX.length))?.[1];
    const stale = pid !== undefined ? !processAlive(Number(pid)) : await olderThan(path, UNNAMED_STALE_MS);
    if (!stale) continue;
    await rm(path, { recursive: true, force: true }).catch(() => undefined);
    removed++;
  }
  return removed;
}

async function olderThan(path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > ms;
  } catch {
    return false;
  }
}

/** Serialized objects are written to disk in slices of about this many characters. */
const PENDING_CHARS = 64 * 1024;
/** Bytes the spool file may have queued before `addText` waits for the disk. */
const WRITE_BUFFER_BYTES = 1024 * 1024;

export class Spool {
  private directory: string | undefined;
  private file: WriteStream | undefined;
  private current: SpoolPart | undefined;
  private partCount = 0;
  /** Serialized objects not yet written (objects are small; text is written as slices of its chunk). */
  private pending = '';
  /** The start of a line whose end has not arrived yet. */
  private rest: Buffer = Buffer.alloc(0);
  private fileError: Error | undefined;
  private readonly checker: LineChecker;
  private readonly checkLine: CheckLine;
  /** Lines seen so far (blank ones included), for 1-based line numbers in errors. */
  lineNumber = 0;
  /** Name the directory so later runs never remove it (`keepSpool`). Set before the first line. */
  keep = false;
  objects = 0;
  bytes = 0;

  constructor(
    private readonly spoolDir: string,
    private readonly partBytes: number,
    private readonly maxLineBytes: number,
    /** Called with each part once its file is complete; awaited (that is the writer's backpressure). */
    private readonly onPart: (part: SpoolPart) => Promise<void>,
    /** Input name for errors (`file.jsonl:7`); without it errors say `line 7`. */
    private readonly source?: string,
    checkerOptions?: LineCheckerOptions,
  ) {
    this.checkLine = objectLineCheck(maxLineBytes, source);
    this.checker = new LineChecker(this.checkLine, checkerOptions);
  }

  /**
   * Add JSONL text, possibly cut mid-line. Each complete line is checked (JSON object with a
   * string id; see {@link LineChecker}, which may do it on a second core), and the chunk's bytes
   * are written to the spool as they are, in slices that skip blank lines: no re-encoding, and no
   * copy beyond the one line that spans two chunks. A part's file is handed over only once all of
   * its lines are checked.
   */
  async addText(chunk: Buffer | string): Promise<void> {
    let input = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.rest.length > 0) {
      // Finish the line that spans the previous chunk on its own, so the rest of this chunk is not copied.
      const newline = input.indexOf(10);
      const head = newline < 0 ? input : input.subarray(0, newline + 1);
      const joined = Buffer.concat([this.rest, head]);
      this.rest = Buffer.alloc(0);
      await this.addLines(joined);
      if (newline < 0) return;
      input = input.subarray(newline + 1);
    }
    await this.addLines(input);
  }

  /** Lines of `buffer`; the unfinished last one is kept in `rest`. */
  private async addLines(buffer: Buffer): Promise<void> {
    let start = 0;
    let sliceStart = 0;
    /** The run of lines not yet given to the checker, and its first line number. */
    let checkStart = 0;
    let runLine = this.lineNumber + 1;
    for (let end = buffer.indexOf(10, start); end >= 0; end = buffer.indexOf(10, start)) {
      const next = end + 1;
      this.lineNumber++;
      let lineStart = start;
      if (this.lineNumber === 1 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) lineStart = sliceStart = checkStart = 3;
      if (end - lineStart > this.maxLineBytes + 1) await this.checker.fail(tooLongLine(buffer, lineStart, this.lineNumber, this.maxLineBytes, this.source), this.lineNumber);
      // An object line starts with "{"; anything else is blank (left out of the spool) or an error, decided here.
      let blank = false;
      if (buffer[lineStart] !== 0x7b) {
        try {
          blank = !this.checkLine(buffer, lineStart, end, this.lineNumber);
        } catch (error) {
          await this.checker.fail(error as Error, this.lineNumber);
        }
      }
      if (blank) {
        await this.writeSlice(buffer, sliceStart, lineStart);
        sliceStart = next;
      } else {
        if (this.current && this.current.bytes + (next - lineStart) > this.partBytes) {
          await this.writeSlice(buffer, sliceStart, lineStart);
          sliceStart = lineStart;
          await this.checker.check(buffer, checkStart, lineStart, runLine, this.lineNumber - runLine);
          checkStart = lineStart;
          runLine = this.lineNumber;
          await this.closePart();
        }
        if (!this.current) await this.openPart();
        this.count(next - lineStart);
      }
      start = next;
    }
    await this.writeSlice(buffer, sliceStart, start);
    await this.checker.check(buffer, checkStart, start, runLine, this.lineNumber + 1 - runLine);
    this.rest = Buffer.from(buffer.subarray(start));
    if (this.rest.length > this.maxLineBytes) {
      throw new JsonlError(this.lineNumber + 1, `line is longer than maxLineBytes (${this.maxLineBytes})`, this.rest.toString('utf8', 0, 80), { source: this.source });
    }
  }

  /** Add one object (serialized here). */
  async addObject(value: unknown): Promise<void> {
    await this.addLine(value, () => JSON.stringify(value));
  }

  /**
   * Add one item read with its text (a `JsonText`, e.g. an element of a JSON array): its own text
   * goes to the spool on one line, never re-serialized, so its numbers and keys arrive as written.
   * Its value (`JSON.parse` of that text) is what is checked.
   */
  async addJsonText(item: JsonText): Promise<void> {
    await this.addLine(item.value, () => oneLine(item.text));
  }

  private async addLine(value: unknown, text: () => string): Promise<void> {
    await this.endText();
    this.lineNumber++;
    const problem = objectProblem(value);
    if (problem !== undefined) await this.checker.fail(new JsonlError(this.lineNumber, problem, safeExcerpt(value), { source: this.source }), this.lineNumber);
    const line = `${text()}\n`;
    const size = Buffer.byteLength(line);
    if (size > this.maxLineBytes + 1) throw new JsonlError(this.lineNumber, `line is longer than maxLineBytes (${this.maxLineBytes})`, line, { source: this.source });
    if (this.current && this.current.bytes + size > this.partBytes) await this.closePart();
    if (!this.current) await this.openPart();
    this.count(size);
    this.pending += line;
    if (this.pending.length >= PENDING_CHARS) await this.flushPending();
  }

  /** Flush everything and hand over the last part. */
  async finish(): Promise<void> {
    await this.endText();
    if (this.current) await this.closePart();
    await this.checker.settle();
    this.checker.close();
  }

  /** Remove every spool file. */
  async remove(): Promise<void> {
    this.checker.close();
    this.file?.destroy();
    if (this.directory) await rm(this.directory, { recursive: true, force: true });
  }

  /** Remove one uploaded part's file. */
  async removePart(part: SpoolPart): Promise<void> {
    await rm(part.path, { force: true });
  }

  /** Where the spool files are (undefined before the first line). */
  get path(): string | undefined {
    return this.directory;
  }

  /** A last line without a newline still counts; the spool gets its newline. */
  private async endText(): Promise<void> {
    if (this.rest.length === 0) return;
    await this.addText('\n');
  }

  private count(size: number): void {
    this.current!.bytes += size;
    this.current!.objects++;
    this.objects++;
    this.bytes += size;
  }

  private async openPart(): Promise<void> {
    if (!this.directory) {
      await removeStaleSpools(this.spoolDir);
      this.directory = await mkdtemp(join(this.spoolDir, `${this.keep ? KEPT_PREFIX : SPOOL_PREFIX}${process.pid}-`));
    }
    const index = this.partCount++;
    const path = join(this.directory, `part-${String(index + 1).padStart(4, '0')}.jsonl`);
    // A large buffer lets writes queue (and go out as one writev) while the next lines are checked.
    const file = createWriteStream(path, { highWaterMark: WRITE_BUFFER_BYTES });
    // Kept until the next write or close, which rethrow it (a removed spool must not crash the process).
    file.on('error', (error) => (this.fileError ??= error));
    this.file = file;
    this.current = { index, path, bytes: 0, objects: 0, firstLine: this.lineNumber };
  }

  private async writeSlice(buffer: Buffer, start: number, end: number): Promise<void> {
    if (end <= start) return;
    await this.flushPending();
    await this.write(buffer.subarray(start, end));
  }

  private async flushPending(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    await this.write(text);
  }

  private async write(data: Buffer | string): Promise<void> {
    if (this.fileError) throw this.fileError;
    if (!this.file!.write(data)) await once(this.file!, 'drain');
  }

  private async closePart(): Promise<void> {
    await this.flushPending();
    const file = this.file!;
    const part = this.current!;
    this.file = undefined;
    this.current = undefined;
    file.end();
    await once(file, 'close');
    if (this.fileError) throw this.fileError;
    // Nothing of a part is uploaded before every one of its lines is known good.
    await this.checker.settle();
    await this.onPart(part);
  }
}

function safeExcerpt(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
