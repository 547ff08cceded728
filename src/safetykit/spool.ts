/**
 * The import writer's spool: checked JSONL lines written to temp files, one per part, so memory
 * stays flat for any input size. Knows nothing of HTTP.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { JsonlError } from '../core/errors.js';
import { objectProblem } from './errors.js';

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

/** Text is written to disk in slices of about this size. */
const WRITE_SLICE = 256 * 1024;

export class Spool {
  private directory: string | undefined;
  private file: WriteStream | undefined;
  private current: SpoolPart | undefined;
  private partCount = 0;
  private pending = '';
  private pendingBytes = 0;
  private rest = '';
  private fileError: Error | undefined;
  private readonly decoder = new StringDecoder('utf8');
  /** Lines seen so far (blank ones included), for 1-based line numbers in errors. */
  lineNumber = 0;
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
  ) {}

  /** Add JSONL text (possibly cut mid-line or mid-character). */
  async addText(chunk: Buffer | string): Promise<void> {
    const text = this.rest + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    let start = 0;
    for (let end = text.indexOf('\n', start); end >= 0; end = text.indexOf('\n', start)) {
      await this.addLine(text.slice(start, end), true);
      start = end + 1;
    }
    this.rest = text.slice(start);
    if (this.rest.length * 3 > this.maxLineBytes && Buffer.byteLength(this.rest) > this.maxLineBytes) {
      throw new JsonlError(this.lineNumber + 1, `line is longer than maxLineBytes (${this.maxLineBytes})`, this.rest.slice(0, 80), { source: this.source });
    }
  }

  /** Add one object (serialized here). */
  async addObject(value: unknown): Promise<void> {
    await this.endText();
    const problem = objectProblem(value);
    if (problem !== undefined) throw new JsonlError(this.lineNumber + 1, problem, safeExcerpt(value), { source: this.source });
    await this.addLine(JSON.stringify(value), false);
  }

  /** Flush everything and hand over the last part. */
  async finish(): Promise<void> {
    await this.endText();
    if (this.current) await this.closePart();
  }

  /** Remove every spool file. */
  async remove(): Promise<void> {
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

  private async endText(): Promise<void> {
    const tail = this.rest + this.decoder.end();
    this.rest = '';
    if (tail.length > 0) await this.addLine(tail, true);
  }

  private async addLine(raw: string, check: boolean): Promise<void> {
    this.lineNumber++;
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (this.lineNumber === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (check) {
      if (line.trim().length === 0) return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new JsonlError(this.lineNumber, (error as Error).message, line, { source: this.source, cause: error });
      }
      const problem = objectProblem(value);
      if (problem !== undefined) throw new JsonlError(this.lineNumber, problem, line, { source: this.source });
    }
    const size = Buffer.byteLength(line) + 1;
    if (size > this.maxLineBytes + 1) throw new JsonlError(this.lineNumber, `line is longer than maxLineBytes (${this.maxLineBytes})`, line, { source: this.source });
    if (this.current && this.current.bytes + size > this.partBytes) await this.closePart();
    if (!this.current) await this.openPart();
    const part = this.current!;
    part.bytes += size;
    part.objects++;
    this.objects++;
    this.bytes += size;
    this.pending += `${line}\n`;
    this.pendingBytes += size;
    if (this.pendingBytes >= WRITE_SLICE) await this.flushPending();
  }

  private async openPart(): Promise<void> {
    this.directory ??= await mkdtemp(join(this.spoolDir, 'inference-streams-import-'));
    const index = this.partCount++;
    const path = join(this.directory, `part-${String(index + 1).padStart(4, '0')}.jsonl`);
    const file = createWriteStream(path, { highWaterMark: 1 << 20 });
    // Kept until the next write or close, which rethrow it (a removed spool must not crash the process).
    file.on('error', (error) => (this.fileError ??= error));
    this.file = file;
    this.current = { index, path, bytes: 0, objects: 0, firstLine: this.lineNumber };
  }

  private async flushPending(): Promise<void> {
    if (this.fileError) throw this.fileError;
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    this.pendingBytes = 0;
    if (!this.file!.write(text)) await once(this.file!, 'drain');
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
