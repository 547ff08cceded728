/**
 * JSONL in and out. `parseJsonl` splits with split2 and parses each line with `JSON.parse`
 * (see DESIGN.md: a hand-rolled split is ~20 % faster, but split2 is well kept and fast enough
 * next to the network); `stringifyJsonl` writes one object per line.
 */
import { Transform, type TransformCallback } from 'node:stream';
import split2 from 'split2';
import { ConfigError, JsonlError } from './errors.js';
import { JsonText } from './json-text.js';
import { booleanOption, integerOption, stringOption } from './options.js';
import { orderErrors } from './ordered-errors.js';

/** Options of {@link parseJsonl}. */
export interface ParseJsonlOptions {
  /** Longest line accepted, in bytes; a longer one fails with `JsonlError`. Default 16 MiB. */
  maxLineBytes?: number;
  /** Name of the input shown in errors, e.g. a file name. Default none (errors say "line N"). */
  source?: string;
  /** Returns why a value cannot be used (or undefined when it can); a reason fails the stream with `JsonlError` naming the line. Default none. */
  validate?: (value: unknown) => string | undefined;
  /**
   * Emit each line as a {@link JsonText} (its text, surrounding whitespace removed, and its parsed
   * value) instead of the value alone, so the line can be forwarded as it came. Default false.
   */
  keepText?: boolean;
}

export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * A Transform from JSONL text (Buffers or strings) to parsed values (objectMode). Blank lines
 * are skipped; CRLF line ends and a leading UTF-8 BOM are accepted; a line that is not JSON, or
 * longer than `maxLineBytes`, or `null` (pushing `null` would end a Node stream, silently
 * dropping every later line), fails the stream with a `JsonlError` naming its 1-based line,
 * after every value before it has been read.
 */
export function parseJsonl(options: ParseJsonlOptions = {}): Transform {
  const maxLineBytes = integerOption('maxLineBytes', options.maxLineBytes, DEFAULT_MAX_LINE_BYTES, 1, 2 ** 30);
  const source = stringOption('source', options.source);
  const validate = options.validate;
  if (validate !== undefined && typeof validate !== 'function') throw new ConfigError('validate', 'must be a function', validate);
  const keepText = booleanOption('keepText', options.keepText, false);
  let lineNumber = 0;
  const parseLine = (line: string): unknown => {
    lineNumber++;
    if (lineNumber === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    // length is in UTF-16 units; a line can only exceed the byte limit if it is > limit/3 long.
    if (line.length * 3 > maxLineBytes && Buffer.byteLength(line) > maxLineBytes) {
      throw new JsonlError(lineNumber, `line is longer than maxLineBytes (${maxLineBytes})`, line, { source });
    }
    if (line.trim().length === 0) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new JsonlError(lineNumber, (error as Error).message, line, { cause: error, source });
    }
    // split2 drops undefined values only (JSON never yields one); a null would end the stream.
    if (value === null) throw new JsonlError(lineNumber, 'null is not a value a stream can carry', line, { source });
    const problem = validate?.(value);
    if (problem !== undefined) throw new JsonlError(lineNumber, problem, line, { source });
    return keepText ? new JsonText(line.trim(), value) : value;
  };
  // split2 (string matcher is faster than a regexp) — \r is stripped by parseLine's JSON.parse
  // tolerance of trailing whitespace, so CRLF needs no special matcher.
  const splitter = split2('\n', parseLine, { maxLength: maxLineBytes, readableObjectMode: true });
  // split2 reports a line still growing past maxLength as a plain Error; say which line it is.
  const destroyOriginal = splitter._destroy.bind(splitter);
  splitter._destroy = (error: Error | null, callback: (error?: Error | null) => void) => {
    if (error && !(error instanceof JsonlError) && error.message === 'maximum buffer reached') {
      error = new JsonlError(lineNumber + 1, `line is longer than maxLineBytes (${maxLineBytes})`, '', { source });
    }
    destroyOriginal(error, callback);
  };
  return orderErrors(splitter);
}

/** A Transform from values (objectMode) to JSONL text: `JSON.stringify(value) + '\n'`. */
export function stringifyJsonl(): Transform {
  return new Transform({
    writableObjectMode: true,
    transform(value: unknown, _encoding: BufferEncoding, callback: TransformCallback) {
      let line: string;
      try {
        line = JSON.stringify(value);
      } catch (error) {
        return callback(error as Error);
      }
      if (line === undefined) return callback(new TypeError(`stringifyJsonl cannot write ${typeof value}`));
      callback(null, `${line}\n`);
    },
  });
}
