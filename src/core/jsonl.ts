/**
 * JSONL in and out. `parseJsonl` splits the bytes on `\n` itself and parses each line with
 * `JSON.parse`; `stringifyJsonl` writes one value per line.
 *
 * Why our own splitter rather than split2: split2 decodes to a string first (an invalid UTF-8
 * byte silently becomes U+FFFD) and re-joins its buffered text with each chunk of a long line,
 * so a 15 MB line took seconds (quadratic). Here a line's chunks are collected and joined once,
 * and its bytes are checked (core/json-bytes.ts) before they are decoded.
 */
import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import { ConfigError, JsonlError } from './errors.js';
import { isBlankLine, jsonDepthProblem, otherEncoding, utf8Problem } from './json-bytes.js';
import { isJsonText, JsonText, oneLine } from './json-text.js';
import { booleanOption, integerOption, stringOption } from './options.js';
import { orderErrors } from './ordered-errors.js';

/** Returns why a parsed item cannot be used, or undefined when it can; `text` is the item's JSON text as read. */
export type ItemCheck = (value: unknown, text: string) => string | undefined;

/** Options of {@link parseJsonl}. */
export interface ParseJsonlOptions {
  /** Longest line accepted, in bytes; a longer one fails with `JsonlError`. Default 16 MiB. */
  maxLineBytes?: number;
  /** Name of the input shown in errors, e.g. a file name. Default none (errors say "line N"). */
  source?: string;
  /** Returns why a value cannot be used (or undefined when it can); a reason fails the stream with `JsonlError` naming the line. Default none. */
  validate?: ItemCheck;
  /**
   * Emit each line as a {@link JsonText} (its text, surrounding whitespace removed, and its parsed
   * value) instead of the value alone, so the line can be forwarded as it came. Default false.
   */
  keepText?: boolean;
}

export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

const NEWLINE = 0x0a;

/**
 * A Transform from JSONL text (Buffers or strings) to parsed values (objectMode). Blank lines
 * are skipped; CRLF line ends and a leading UTF-8 BOM are accepted; a line that is not JSON,
 * not valid UTF-8, nested deeper than `MAX_JSON_DEPTH`, longer than `maxLineBytes`, or `null`
 * (pushing `null` would end a Node stream, silently dropping every later line) fails the stream
 * with a `JsonlError` naming its 1-based line, after every value before it has been read.
 */
export function parseJsonl(options: ParseJsonlOptions = {}): Transform {
  return orderErrors(new JsonlParser(options));
}

class JsonlParser extends Transform {
  private readonly maxLineBytes: number;
  private readonly source: string | undefined;
  private readonly validate: ItemCheck | undefined;
  private readonly keepText: boolean;
  private lineNumber = 0;
  /** The start of a line that is still growing: its chunks, joined once when its end arrives. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(options: ParseJsonlOptions) {
    super({ writableObjectMode: false, readableObjectMode: true });
    this.maxLineBytes = integerOption('maxLineBytes', options.maxLineBytes, DEFAULT_MAX_LINE_BYTES, 1, 2 ** 30);
    this.source = stringOption('source', options.source);
    if (options.validate !== undefined && typeof options.validate !== 'function') throw new ConfigError('validate', 'must be a function', options.validate);
    this.validate = options.validate;
    this.keepText = booleanOption('keepText', options.keepText, false);
  }

  override _transform(chunk: Buffer | string, encoding: BufferEncoding, callback: TransformCallback): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    try {
      const first = buffer.indexOf(NEWLINE);
      if (first < 0) {
        this.keep(buffer);
        return callback();
      }
      let start = 0;
      if (this.pending.length > 0) {
        this.keep(buffer.subarray(0, first));
        const line = Buffer.concat(this.pending, this.pendingBytes);
        this.pending = [];
        this.pendingBytes = 0;
        this.parseBytes(line);
        start = first + 1;
      }
      const last = buffer.lastIndexOf(NEWLINE);
      if (start <= last) {
        // The lines that start and end in this chunk: one UTF-8 check and one decode for all of
        // them (one call each per line measured slower than split2's one decode per chunk).
        const whole = buffer.subarray(start, last);
        if (isUtf8(whole)) {
          for (const line of whole.toString('utf8').split('\n')) this.parseText(line);
        } else {
          for (let end = buffer.indexOf(NEWLINE, start); start <= last; start = end + 1, end = buffer.indexOf(NEWLINE, start)) this.parseBytes(buffer.subarray(start, end));
        }
      }
      if (last + 1 < buffer.length) this.keep(buffer.subarray(last + 1));
    } catch (error) {
      return callback(error as Error);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.pending.length > 0) this.parseBytes(Buffer.concat(this.pending, this.pendingBytes));
    } catch (error) {
      return callback(error as Error);
    }
    callback();
  }

  /** Hold part of a growing line; fail as soon as it is longer than allowed, without holding more. */
  private keep(part: Buffer): void {
    this.pendingBytes += part.length;
    if (this.pendingBytes > this.maxLineBytes + 1) throw this.tooLong(this.lineNumber + 1, this.pending[0] ?? part);
    this.pending.push(part);
  }

  private tooLong(lineNumber: number, head: Buffer): JsonlError {
    return new JsonlError(lineNumber, `line is longer than maxLineBytes (${this.maxLineBytes})`, head.toString('utf8', 0, 80), { source: this.source });
  }

  /** Check a line's bytes (UTF-8, length), then parse it. */
  private parseBytes(bytes: Buffer): void {
    const lineNumber = this.lineNumber + 1;
    if (bytes.length > this.maxLineBytes + 1) throw this.tooLong(lineNumber, bytes);
    // Encoding only: the depth is checked once, on the decoded text (parseText).
    const found = utf8Problem(bytes);
    if (found) {
      this.lineNumber++;
      throw this.fail(lineNumber, found.problem, bytes);
    }
    this.parseText(bytes.toString('utf8'), bytes);
  }

  /** Parse one line of valid UTF-8 (`bytes` are its bytes when known, for the error of a first line in another encoding). */
  private parseText(line: string, bytes?: Buffer): void {
    const lineNumber = ++this.lineNumber;
    if (lineNumber === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (line.charCodeAt(line.length - 1) === 0x0d) line = line.slice(0, -1); // CRLF
    // length is in UTF-16 units; a line can only exceed the byte limit if it is > limit/3 long.
    if (line.length * 3 > this.maxLineBytes && Buffer.byteLength(line) > this.maxLineBytes) throw this.tooLong(lineNumber, Buffer.from(line.slice(0, 80)));
    const deep = jsonDepthProblem(line);
    if (deep) throw new JsonlError(lineNumber, deep.problem, line, { source: this.source });
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      if (isBlankLine(line)) return;
      throw this.fail(lineNumber, (error as Error).message, bytes ?? Buffer.from(line.slice(0, 4)), line, error);
    }
    // A null would end the stream.
    if (value === null) throw new JsonlError(lineNumber, 'null is not a value a stream can carry', line, { source: this.source });
    if (this.validate === undefined && !this.keepText) {
      this.push(value);
      return;
    }
    const text = line.trim();
    const problem = this.validate?.(value, text);
    if (problem !== undefined) throw new JsonlError(lineNumber, problem, line, { source: this.source });
    this.push(this.keepText ? new JsonText(text, value) : value);
  }

  /** The error of a bad line; on the first line, bytes of another encoding (gzip, UTF-16) are named instead. */
  private fail(lineNumber: number, problem: string, bytes: Buffer, text?: string, cause?: unknown): JsonlError {
    const encoding = lineNumber === 1 ? otherEncoding(bytes) : undefined;
    const excerpt = text ?? bytes.toString('utf8', 0, 80);
    return new JsonlError(lineNumber, encoding ?? problem, encoding ? '' : excerpt, { source: this.source, cause });
  }
}

/**
 * A Transform from values (objectMode) to JSONL text: `JSON.stringify(value) + '\n'`. A
 * {@link JsonText}, as the value or as a top-level field of it (a prediction's `input`), is
 * written as its own text (on one line), so what was read is written back unchanged.
 */
export function stringifyJsonl(): Transform {
  return new Transform({
    writableObjectMode: true,
    transform(value: unknown, _encoding: BufferEncoding, callback: TransformCallback) {
      let line: string | undefined;
      try {
        line = jsonLine(value);
      } catch (error) {
        return callback(error as Error);
      }
      if (line === undefined) return callback(new TypeError(`stringifyJsonl cannot write ${typeof value}`));
      callback(null, `${line}\n`);
    },
  });
}

/** `JSON.stringify(value)`, with a JsonText (the value, or one of its top-level fields) written as its text. */
export function jsonLine(value: unknown): string | undefined {
  if (isJsonText(value)) return oneLine(value.text);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function' || !hasJsonTextField(value)) {
    return JSON.stringify(value);
  }
  let line = '';
  for (const [key, field] of Object.entries(value)) {
    const text = isJsonText(field) ? oneLine(field.text) : JSON.stringify(field);
    if (text !== undefined) line += `${line ? ',' : '{'}${JSON.stringify(key)}:${text}`;
  }
  return line ? `${line}}` : '{}';
}

function hasJsonTextField(value: object): boolean {
  for (const key in value) if (isJsonText((value as Record<string, unknown>)[key])) return true;
  return false;
}
