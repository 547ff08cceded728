/**
 * The body of a file import's PUT: a byte range of the input file itself (no spool copy), checked
 * line by line as it streams. The last chunk is held back until every line is known good, so the
 * object store never receives all `Content-Length` bytes of a part with a bad line: a bad line
 * destroys the body, the PUT is cut short, and nothing is imported.
 */
import { close, createReadStream, open, read, type ReadStream } from 'node:fs';
import { Readable, Transform, pipeline } from 'node:stream';
import { LineChecker, tooLongLine, type CheckLine, type LineCheckerOptions } from './line-check.js';

const EMPTY = Buffer.alloc(0);
/** Bytes read from the file at once. */
const FILE_CHUNK_BYTES = 1024 * 1024;

/**
 * Splits JSONL text into lines and checks them, counts objects. On the calling thread by default:
 * with the byte-level fast path (id-object-bytes.ts) a line costs less to check here than to
 * copy into a batch and post to the worker (the profile of `importFile` showed postMessage, the
 * worker's start-up and the two threads' GC costing more than the check itself). `importFile()`
 * uses it for JSON arrays, small parts and one-core machines; a JSONL part is checked by a
 * worker that reads the file itself (range-check.ts, {@link checkedFileBody}).
 */
export class LineScan {
  /** Lines seen so far in this scan (blank ones included). */
  lines = 0;
  objects = 0;
  /** Every line was checked and found good. */
  done = false;
  private rest: Buffer = EMPTY;
  private readonly checker: LineChecker;

  constructor(
    /** 1-based input line number of the first byte scanned. */
    private readonly firstLine: number,
    private readonly checkLine: CheckLine,
    private readonly maxLineBytes: number,
    private readonly source: string | undefined,
    checkerOptions?: LineCheckerOptions,
  ) {
    this.checker = new LineChecker(checkLine, { useWorker: false, ...checkerOptions });
  }

  /** Add text, possibly cut mid-line or mid-character. Rejects with the first bad line known so far. */
  async feed(chunk: Buffer): Promise<void> {
    let input = chunk;
    if (this.rest.length > 0) {
      // Finish the line that spans the previous chunk on its own, so the rest of this chunk is not copied.
      const newline = input.indexOf(10);
      const joined = Buffer.concat([this.rest, newline < 0 ? input : input.subarray(0, newline + 1)]);
      this.rest = EMPTY;
      await this.scan(joined);
      if (newline < 0) return;
      input = input.subarray(newline + 1);
    }
    await this.scan(input);
  }

  /** The text has ended: check a last line without a newline, and wait for every check. */
  async finish(): Promise<void> {
    try {
      if (this.rest.length > 0) await this.scan(Buffer.concat([this.rest, Buffer.from('\n')]));
      await this.checker.settle();
      this.done = true;
    } finally {
      this.checker.close();
    }
  }

  close(): void {
    this.checker.close();
  }

  private async scan(buffer: Buffer): Promise<void> {
    let start = 0;
    const runLine = this.firstLine + this.lines;
    for (let end = buffer.indexOf(10); end >= 0; end = buffer.indexOf(10, start)) {
      const line = this.firstLine + this.lines++;
      if (end - start > this.maxLineBytes + 1) await this.checker.fail(tooLongLine(buffer, start, line, this.maxLineBytes, this.source), line);
      if (buffer[start] === 0x7b) {
        // An object line: checked in the batch below (maybe by the worker).
        this.objects++;
      } else {
        // Blank, or an object after spaces, or an error: decided here, at once.
        try {
          if (this.checkLine(buffer, start, end, line)) this.objects++;
        } catch (error) {
          await this.checker.fail(error as Error, line);
        }
      }
      start = end + 1;
    }
    await this.checker.check(buffer, 0, start, runLine, this.firstLine + this.lines - runLine);
    if (start < buffer.length) {
      this.rest = Buffer.from(buffer.subarray(start));
      if (this.rest.length > this.maxLineBytes) throw tooLongLine(this.rest, 0, this.firstLine + this.lines, this.maxLineBytes, this.source);
    }
  }
}

/**
 * Bytes `[start, end)` of `path` as a PUT body. With a `scan`, every line is checked on the way
 * and the final chunk waits for the verdict; a bad line destroys the body with its `JsonlError`.
 * `onProgress` gets the bytes handed to the request so far. `view` rewrites each chunk in place
 * before it is checked and sent, keeping its length (a JSON array's JSONL view).
 */
export function fileRangeBody(path: string, start: number, end: number, scan: LineScan | undefined, onProgress?: (bytesSent: number) => void, view?: (chunk: Buffer) => void): Readable {
  // 1 MiB reads, as a plain PUT of a file would use: a quarter of the reads, socket writes and stream hops of 256 KiB ones.
  const file: ReadStream = createReadStream(path, { start, end: end - 1, highWaterMark: FILE_CHUNK_BYTES });
  let held: Buffer | undefined;
  let sent = 0;
  const release = (stream: Transform, chunk: Buffer) => {
    stream.push(chunk);
    onProgress?.((sent += chunk.length));
  };
  const body = new Transform({
    // A chunk of slack: the file is read ahead while lines are checked and bytes sent.
    highWaterMark: FILE_CHUNK_BYTES,
    transform(chunk: Buffer, _encoding, callback) {
      view?.(chunk);
      if (!scan) {
        release(this, chunk);
        return callback();
      }
      scan.feed(chunk).then(() => {
        if (held) release(this, held);
        held = chunk;
        callback();
      }, callback);
    },
    flush(callback) {
      (scan ? scan.finish() : Promise.resolve()).then(() => {
        if (held) release(this, held);
        callback();
      }, callback);
    },
  });
  // pipeline() passes a read error of the file on to the body the request is reading.
  pipeline(file, body, () => scan?.close());
  return body;
}

/**
 * Bytes `[start, end)` of `path` as a PUT body whose lines are checked elsewhere (range-check.ts):
 * the chunks go out as they are read, the last one only once `verdict` resolves; when it rejects
 * (a bad line, named by its `JsonlError`) the body is destroyed with that error at once, so the
 * PUT is cut short and nothing is imported. One stream, as light as a plain upload of the file.
 */
export function checkedFileBody(path: string, start: number, end: number, verdict: Promise<unknown>, onProgress?: (bytesSent: number) => void): Readable {
  return new CheckedFileBody(path, start, end, verdict, onProgress);
}

class CheckedFileBody extends Readable {
  private fd: number | undefined;
  private position: number;
  private sent = 0;

  constructor(
    private readonly path: string,
    start: number,
    private readonly end: number,
    private readonly verdict: Promise<unknown>,
    private readonly onProgress: ((bytesSent: number) => void) | undefined,
  ) {
    // One chunk read ahead while the previous one is sent.
    super({ highWaterMark: FILE_CHUNK_BYTES });
    this.position = start;
    verdict.catch((error: Error) => this.destroy(error));
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.path, 'r', (error, fd) => {
      this.fd = fd;
      callback(error);
    });
  }

  override _read(): void {
    const length = Math.min(FILE_CHUNK_BYTES, this.end - this.position);
    if (length <= 0) {
      this.push(null);
      return;
    }
    const chunk = Buffer.allocUnsafeSlow(length);
    read(this.fd!, chunk, 0, length, this.position, (error, bytesRead) => {
      if (error) return this.destroy(error);
      if (bytesRead === 0) return this.destroy(new Error(`the file ended at byte ${this.position}, before the end of the part (${this.end}): it changed during the import`));
      this.position += bytesRead;
      const bytes = bytesRead === length ? chunk : chunk.subarray(0, bytesRead);
      if (this.position < this.end) return this.release(bytes);
      // The last chunk: only once every line is known good.
      this.verdict.then(
        () => {
          this.release(bytes);
          this.push(null);
        },
        () => undefined,
      );
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.fd === undefined) return callback(error);
    const fd = this.fd;
    this.fd = undefined;
    close(fd, () => callback(error));
  }

  private release(chunk: Buffer): void {
    if (this.destroyed) return;
    this.push(chunk);
    this.onProgress?.((this.sent += chunk.length));
  }
}
