/**
 * JSONL read from a saved position: each line comes out as a {@link PositionedText} that knows
 * its 1-based line number and the byte offset just after it, so a resumable run can commit "every
 * input up to here" with its outputs and, after a crash, open the file at that offset. Line
 * numbers in errors count from the start of the file on every run.
 *
 * The same per-line rules as `parseJsonl`: blank lines skipped, CRLF and a leading UTF-8 BOM
 * accepted, `null`, too-deep nesting and lines longer than `maxLineBytes` refused with a
 * `JsonlError` naming the line.
 */
import { createReadStream } from 'node:fs';
import { JsonlError } from './errors.js';
import { isBlankLine, jsonLineProblem } from './json-bytes.js';
import { JsonText } from './json-text.js';
import { DEFAULT_MAX_LINE_BYTES } from './jsonl.js';

/** Where a line-based reader stands: after `line` lines, at byte `offset`. */
export interface LinePosition {
  /** Lines read before this point (blank lines included). */
  line: number;
  /** Byte offset in the file. */
  offset: number;
  /** Array readers (`parseJsonArray`'s `from`): elements read before this point. Line readers: none. */
  index?: number;
}

/** A line's text and value, with the position just after the line. */
export class PositionedText<T = unknown> extends JsonText<T> {
  constructor(
    text: string,
    value: T,
    /** Position after this line (its `line` is this line's 1-based number; an array element's: the line it ends on, and its `index` + 1). */
    readonly after: LinePosition,
  ) {
    super(text, value);
  }
}

/** Options of {@link readJsonlFrom}. */
export interface ReadJsonlFromOptions {
  /** Where to start (a position from an earlier {@link PositionedText}). Default the beginning. */
  from?: LinePosition;
  /** The file's name in errors. Default the path. */
  source?: string;
  /** Longest line, in bytes. Default 16 MiB. */
  maxLineBytes?: number;
  /** Stops reading (the generator then throws the signal's reason). */
  signal?: AbortSignal;
  /** Byte offset to stop at (exclusive; a line start, e.g. a planned range's end). Default the end of the file. */
  to?: number;
}

/** The JSON lines of `path` from `options.from` on. */
export async function* readJsonlFrom(path: string, options: ReadJsonlFromOptions = {}): AsyncGenerator<PositionedText> {
  const source = options.source ?? path;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let { line, offset } = options.from ?? { line: 0, offset: 0 };
  // An empty range reads nothing (createReadStream's `end` is inclusive, and end < start is refused).
  if (options.to !== undefined && options.to <= offset) return;
  const stream = createReadStream(path, { start: offset, ...(options.to !== undefined ? { end: options.to - 1 } : {}), signal: options.signal });
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const parse = (bytes: Buffer, end: number): PositionedText | undefined => {
    line++;
    const after = { line, offset: end };
    if (bytes.length > maxLineBytes + 1) throw new JsonlError(line, `line is longer than maxLineBytes (${maxLineBytes})`, bytes.toString('utf8', 0, 80), { source });
    let text = bytes.toString('utf8');
    if (after.line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.charCodeAt(text.length - 1) === 0x0d) text = text.slice(0, -1);
    if (isBlankLine(text)) return undefined;
    // The checks and words of every other line reader: not UTF-8 (decoding would silently turn
    // those bytes into U+FFFD), gzip or UTF-16 on line 1, nesting too deep.
    const bad = jsonLineProblem(bytes, 0, bytes.length, line);
    if (bad) throw new JsonlError(line, bad.problem, text, { source });
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new JsonlError(line, (error as Error).message, text, { source, cause: error });
    }
    if (value === null) throw new JsonlError(line, 'null is not a value a stream can carry', text, { source });
    return new PositionedText(text.trim(), value, after);
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, start)) {
      const part = chunk.subarray(start, newline);
      const bytes = pendingBytes > 0 ? Buffer.concat([...pending, part]) : part;
      const end = offset + pendingBytes + (newline - start) + 1;
      pending = [];
      pendingBytes = 0;
      offset = end;
      start = newline + 1;
      const item = parse(bytes, end);
      if (item) yield item;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxLineBytes + 1) throw new JsonlError(line + 1, `line is longer than maxLineBytes (${maxLineBytes})`, pending[0].toString('utf8', 0, 80), { source });
    }
  }
  if (pendingBytes > 0) {
    const item = parse(Buffer.concat(pending), offset + pendingBytes);
    if (item) yield item;
  }
}
