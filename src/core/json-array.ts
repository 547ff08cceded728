/**
 * `parseJsonArray`: one JSON array (or the array under one key of a top-level object, such as
 * `{"data": [...]}`) in, its elements out one at a time, never holding the document.
 *
 * Why not stream-json's token parser: on this project's machine it reads 4–9 MB/s (`packValues`
 * on, `streamValues` off is its fastest), 5× slower than this scanner on the same data, which
 * keeps up with parseJsonl (benchmarks/json-array). The scanner only finds where each element starts and ends
 * (tracking strings, escapes and bracket depth, byte by byte; string bodies are skipped with
 * `indexOf`) and hands each element's text to `JSON.parse`, which checks it fully. Together the
 * two accept exactly the JSON arrays: the scanner checks the skeleton (`[`, commas, `]`, nothing
 * after) and every element text must parse on its own.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { ConfigError, JsonArrayError } from './errors.js';
import { MAX_JSON_DEPTH, otherEncoding, utf8Problem } from './json-bytes.js';
import { DEFAULT_MAX_LINE_BYTES, type ItemCheck } from './jsonl.js';
import { skipJsonString, type StringScanState } from './json-string.js';
import { JsonText } from './json-text.js';
import { PositionedText, type LinePosition } from './jsonl-positions.js';
import { booleanOption, integerOption, stringOption } from './options.js';
import { orderErrors } from './ordered-errors.js';

/** Options of {@link parseJsonArray}. */
export interface ParseJsonArrayOptions {
  /** Largest element accepted (its JSON text), in bytes; a larger one fails with `JsonArrayError` before it is held whole. Default 16 MiB. */
  maxElementBytes?: number;
  /** Name of the input shown in errors, e.g. a file name. Default none (errors say "line N"). */
  source?: string;
  /**
   * Accept only objects (not arrays, strings, numbers, booleans). Default true. `null` is always
   * refused: a Node stream cannot carry it (pushing `null` ends the stream).
   */
  objectsOnly?: boolean;
  /**
   * Read the array held by this key of a top-level object, e.g. `'data'` for `{"data": [...]}`;
   * the object's other keys are checked as JSON and skipped. Default none: the document is the array.
   */
  path?: string;
  /**
   * With `path`: what to do with an array under another key of the object. `'refuse'` fails the
   * stream (which array was meant is unclear: `{"data": [...], "more": [...]}`); `'skip'`
   * checks it as JSON and skips it like any other value. Default `'skip'`.
   */
  otherArrays?: 'refuse' | 'skip';
  /** Returns why an element cannot be used (or undefined when it can); a reason fails the stream with `JsonArrayError` naming the element. Default none. */
  validate?: ItemCheck;
  /**
   * Emit each element as a {@link JsonText} (its text as it stands in the array, and its parsed
   * value) instead of the value alone, so the element can be forwarded as it came. Default false.
   */
  keepText?: boolean;
  /**
   * Start after an element, at a position an earlier run saved (an element's
   * {@link PositionedText.after}): the caller feeds the bytes from `from.offset` on, the scan
   * expects `,` or `]` first (then the rest of the top-level object, with `path`), and line
   * numbers and element indexes count on from the saved ones. `{offset: 0}` is the document's
   * start. With this option every element is emitted as a {@link PositionedText} (its text,
   * value and the position just after it). Default none: the document from its start, elements
   * as values or `JsonText`s.
   */
  from?: ArrayPosition;
}

/** Where an array reader stands: just after element `index - 1`, which ends on line `line` (1-based), at byte `offset`. */
export interface ArrayPosition extends LinePosition {
  /** Elements read before this point. */
  index: number;
}

const QUOTE = 0x22;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const NEWLINE = 0x0a;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

const enum State {
  Start,
  /** After `[`: an element or `]`. */
  ArrayFirst,
  /** After `,`: an element. */
  ArrayNext,
  /** After an element: `,` or `]`. */
  ArrayAfter,
  /** Inside a value (an element, a key, or a skipped value of the top-level object). */
  Value,
  /** After the top-level `{`: a key or `}`. */
  ObjectFirst,
  /** After `,` in the top-level object: a key. */
  ObjectNext,
  /** After a key: `:`. */
  ObjectColon,
  /** After `:`: a value. */
  ObjectValue,
  /** After a value of the top-level object: `,` or `}`. */
  ObjectAfter,
  /** After the document: whitespace only. */
  Done,
}

type ValueKind = 'element' | 'key' | 'skip';

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === NEWLINE || byte === 0x0d || byte === 0x09;
}

/** A byte that ends a bare scalar (number, true, false, null). */
function endsScalar(byte: number): boolean {
  return byte === COMMA || byte === CLOSE_BRACKET || byte === CLOSE_BRACE || byte === COLON || isSpace(byte);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * A Transform from the bytes of a JSON array (Buffers or strings) to its elements (objectMode).
 * A leading UTF-8 BOM is accepted. An element that is not valid JSON, larger than
 * `maxElementBytes`, not an object (unless `objectsOnly: false`), `null`, or refused by
 * `validate` fails the stream with a `JsonArrayError` naming its 0-based index and the line it
 * starts on, before that element is emitted and after every element before it has been read;
 * so does a malformed or unterminated array.
 */
export function parseJsonArray(options: ParseJsonArrayOptions = {}): Transform {
  return orderErrors(new JsonArrayParser(options));
}

/**
 * Read a whole document of the `{"key": [...]}` shape without parsing its elements, and reject
 * with the `JsonArrayError` of a malformed skeleton, or of an array under another key than
 * `path`. For a file, run before `parseJsonArray({path, otherArrays: 'refuse'})`: the document
 * is then refused before any of its elements is used (an array after `path` is otherwise only
 * found once the elements before it have gone on).
 */
export async function checkJsonSkeleton(source: AsyncIterable<Buffer | string>, options: { path: string; source?: string }): Promise<void> {
  const scanner = new JsonArrayParser({ path: options.path, source: options.source, otherArrays: 'refuse' }, true);
  for await (const chunk of source) {
    await new Promise<void>((resolve, reject) => scanner._transform(chunk, 'utf8', (error) => (error ? reject(error) : resolve())));
  }
  await new Promise<void>((resolve, reject) => scanner._flush((error) => (error ? reject(error) : resolve())));
}

class JsonArrayParser extends Transform {
  private readonly maxElementBytes: number;
  private readonly source: string | undefined;
  private readonly objectsOnly: boolean;
  private readonly path: string | undefined;
  private readonly validate: ItemCheck | undefined;
  private readonly keepText: boolean;
  private readonly refuseOtherArrays: boolean;
  /** Emit PositionedTexts (the `from` option). */
  private readonly positioned: boolean;
  /** Bytes of the input before the chunk being scanned (with `from`, counted from its offset). */
  private chunkBase = 0;

  private state = State.Start;
  /** State to return to after the current array closes. */
  private afterArray = State.Done;
  private line = 1;
  private index = 0;
  /** Bytes of a leading UTF-8 BOM matched so far (3 once past it, or once the input does not start with one). */
  private bomMatched = 0;
  private pathSeen = false;
  /** The chunk being scanned, where the scan is in it, and its callback (held while the readable side is full). */
  private chunk: Buffer | undefined;
  private position = 0;
  private chunkDone: TransformCallback | undefined;
  /** The last push found the readable side full. */
  private full = false;
  /** The key just read, while its value is pending. */
  private key: string | undefined;

  // The value being scanned.
  private kind: ValueKind = 'element';
  private depth = 0;
  private inString = false;
  /** Carried between chunks while inside a string. */
  private readonly stringScan: StringScanState = { escaped: false };
  private scalar = false;
  private parts: Buffer[] = [];
  private bytes = 0;
  private valueLine = 1;
  /** Where the current value's unsaved text starts in the chunk being scanned: 0 if it began in an earlier chunk. */
  private valueStart = 0;

  /** @param skeleton check the document's structure only: elements are scanned, not parsed nor emitted. */
  constructor(
    options: ParseJsonArrayOptions,
    private readonly skeleton = false,
  ) {
    super({ writableObjectMode: false, readableObjectMode: true, readableHighWaterMark: 64 });
    this.maxElementBytes = integerOption('maxElementBytes', options.maxElementBytes, DEFAULT_MAX_LINE_BYTES, 1, 2 ** 30);
    this.source = stringOption('source', options.source);
    this.objectsOnly = booleanOption('objectsOnly', options.objectsOnly, true);
    this.path = stringOption('path', options.path);
    if (options.validate !== undefined && typeof options.validate !== 'function') throw new ConfigError('validate', 'must be a function', options.validate);
    this.validate = options.validate;
    this.keepText = booleanOption('keepText', options.keepText, false);
    if (options.otherArrays !== undefined && options.otherArrays !== 'refuse' && options.otherArrays !== 'skip') throw new ConfigError('otherArrays', 'must be "refuse" or "skip"', options.otherArrays);
    this.refuseOtherArrays = options.otherArrays === 'refuse';
    if (this.path !== undefined) this.afterArray = State.ObjectAfter;
    this.positioned = options.from !== undefined;
    if (options.from !== undefined) this.startFrom(options.from);
  }

  /** The `from` option: the state just after element `from.index - 1`. */
  private startFrom(from: ArrayPosition): void {
    if (typeof from !== 'object' || from === null) throw new ConfigError('from', 'must be a position {offset, line, index}', from);
    const { offset, line, index } = from;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new ConfigError('from.offset', 'must be an integer ≥ 0', offset);
    this.chunkBase = offset;
    if (offset === 0) return;
    if (!Number.isSafeInteger(line) || line < 1) throw new ConfigError('from.line', 'must be an integer ≥ 1 after the start', line);
    if (!Number.isSafeInteger(index) || index < 1) throw new ConfigError('from.index', 'must be an integer ≥ 1 after the start', index);
    this.line = line;
    this.index = index;
    this.bomMatched = 3;
    this.state = State.ArrayAfter;
    this.pathSeen = this.path !== undefined;
  }

  override _transform(chunk: Buffer | string, encoding: BufferEncoding, callback: TransformCallback): void {
    this.chunk = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    this.position = 0;
    this.chunkDone = callback;
    this.continueChunk();
  }

  /**
   * Backpressure inside a chunk: a 1 MiB chunk holds thousands of elements, and pushing them all
   * at once would buffer them all. The scan stops when the readable side is full and goes on
   * from here when it is read again.
   */
  override _read(size: number): void {
    if (this.chunk !== undefined && this.full) {
      this.full = false;
      this.continueChunk();
      if (this.chunk !== undefined) return;
      // The chunk is done; Transform may have parked its write callback for a _read that will
      // not come (this is it), so let Transform's own _read release it.
    }
    super._read(size);
  }

  private continueChunk(): void {
    let finished: boolean;
    try {
      finished = this.scan(this.chunk!);
    } catch (error) {
      return this.finishChunk(error as Error);
    }
    if (finished) this.finishChunk();
  }

  private finishChunk(error?: Error): void {
    const done = this.chunkDone!;
    this.chunkBase += this.chunk!.length;
    this.chunk = undefined;
    this.chunkDone = undefined;
    done(error);
  }

  override _flush(callback: TransformCallback): void {
    if (this.state === State.Done) return callback();
    if (this.state === State.Start) return callback(this.fail('the input is empty: expected a JSON array'));
    const where = this.index === 0 ? 'before its first element' : `after element [${this.index - 1}]`;
    callback(this.fail(`the input ended ${where}, inside the ${this.path === undefined ? 'array' : 'document'} (is it cut short?)`));
  }

  private fail(problem: string, text = '', index?: number, line = this.line, cause?: unknown): JsonArrayError {
    return new JsonArrayError({ line, index }, problem, text, { source: this.source, cause });
  }

  /** Scan `buffer` from `this.position`; false when it stopped early because the readable side is full. */
  private scan(buffer: Buffer): boolean {
    let i = this.position;
    const length = buffer.length;
    // The BOM may arrive split across chunks.
    while (this.bomMatched < 3 && i < length) {
      if (buffer[i] === UTF8_BOM[this.bomMatched]) {
        this.bomMatched++;
        i++;
      } else {
        this.bomMatched = 3;
      }
    }
    while (i < length) {
      if (this.state === State.Value) {
        i = this.scanValue(buffer, i);
        if (this.full) {
          this.position = i;
          return false;
        }
        continue;
      }
      const byte = buffer[i];
      if (isSpace(byte)) {
        if (byte === NEWLINE) this.line++;
        i++;
        continue;
      }
      switch (this.state) {
        case State.Start:
          if (this.line === 1) {
            const encoding = otherEncoding(buffer.subarray(i, i + 4));
            if (encoding) throw this.fail(encoding);
          }
          if (this.path === undefined) {
            if (byte !== OPEN_BRACKET) throw this.fail('expected a JSON array ("[")', this.excerpt(buffer, i));
            this.state = State.ArrayFirst;
          } else {
            if (byte !== OPEN_BRACE) throw this.fail(`expected an object with a "${this.path}" array ("{")`, this.excerpt(buffer, i));
            this.state = State.ObjectFirst;
          }
          i++;
          break;
        case State.ArrayFirst:
          if (byte === CLOSE_BRACKET) {
            this.state = this.afterArray;
            i++;
            break;
          }
          i = this.startValue(buffer, i, 'element');
          break;
        case State.ArrayNext:
          if (byte === CLOSE_BRACKET) throw this.fail(`expected an element after "," (trailing commas are not JSON)`, '', this.index);
          i = this.startValue(buffer, i, 'element');
          break;
        case State.ArrayAfter:
          if (byte === COMMA) this.state = State.ArrayNext;
          else if (byte === CLOSE_BRACKET) this.state = this.afterArray;
          else throw this.fail(`expected "," or "]" after element [${this.index - 1}]`, this.excerpt(buffer, i));
          i++;
          break;
        case State.ObjectFirst:
        case State.ObjectNext:
          if (byte === CLOSE_BRACE && this.state === State.ObjectFirst) {
            this.endObject();
            i++;
            break;
          }
          if (byte !== QUOTE) throw this.fail('expected a key (a string) in the top-level object', this.excerpt(buffer, i));
          i = this.startValue(buffer, i, 'key');
          break;
        case State.ObjectColon:
          if (byte !== COLON) throw this.fail(`expected ":" after the key ${JSON.stringify(this.key)}`, this.excerpt(buffer, i));
          this.state = State.ObjectValue;
          i++;
          break;
        case State.ObjectValue:
          if (this.key === this.path) {
            if (this.pathSeen) throw this.fail(`the document has "${this.path}" twice`);
            if (byte !== OPEN_BRACKET) throw this.fail(`"${this.path}" is not an array`, this.excerpt(buffer, i));
            this.pathSeen = true;
            this.state = State.ArrayFirst;
            i++;
          } else {
            if (byte === OPEN_BRACKET && this.refuseOtherArrays) {
              throw this.fail(`the document has an array under "${this.key}" besides "${this.path}": say which one to read (--json-path KEY, or the path option)`);
            }
            i = this.startValue(buffer, i, 'skip');
          }
          break;
        case State.ObjectAfter:
          if (byte === COMMA) this.state = State.ObjectNext;
          else if (byte === CLOSE_BRACE) this.endObject();
          else throw this.fail('expected "," or "}" in the top-level object', this.excerpt(buffer, i));
          i++;
          break;
        case State.Done:
          throw this.fail(`unexpected text after the end of the ${this.path === undefined ? 'array' : 'document'}`, this.excerpt(buffer, i));
      }
    }
    if (this.state === State.Value) this.keepPart(buffer.subarray(this.valueStart, length));
    return true;
  }

  private endObject(): void {
    if (!this.pathSeen) throw this.fail(`the document is an object without a "${this.path}" array (expected a JSON array, or an object holding one under "${this.path}"; one JSON value per line is JSONL: --input-format jsonl)`);
    this.state = State.Done;
  }

  private startValue(buffer: Buffer, i: number, kind: ValueKind): number {
    this.kind = kind;
    this.state = State.Value;
    this.valueStart = i;
    this.valueLine = this.line;
    this.parts = [];
    this.bytes = 0;
    this.stringScan.escaped = false;
    const byte = buffer[i];
    if (byte === QUOTE) {
      this.inString = true;
      this.scalar = false;
      this.depth = 0;
      return i + 1;
    }
    this.inString = false;
    if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      this.scalar = false;
      this.depth = 1;
      return i + 1;
    }
    if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET || byte === COMMA || byte === COLON) {
      throw this.fail(`expected a value, found "${String.fromCharCode(byte)}"`, this.excerpt(buffer, i), kind === 'element' ? this.index : undefined);
    }
    this.scalar = true;
    this.depth = 0;
    return i;
  }

  /** Scan the current value from `i`; returns where scanning stopped (the value's end, or the chunk's). */
  private scanValue(buffer: Buffer, i: number): number {
    const length = buffer.length;
    while (i < length) {
      if (this.inString) {
        const end = skipJsonString(buffer, i, this.stringScan);
        if (end < 0) return length;
        i = end;
        this.inString = false;
        if (this.depth === 0) return this.endValue(buffer, i);
        continue;
      }
      if (this.scalar) {
        while (i < length && !endsScalar(buffer[i])) i++;
        if (i === length) return length;
        return this.endValue(buffer, i);
      }
      const byte = buffer[i++];
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        if (++this.depth > MAX_JSON_DEPTH) throw this.tooDeep(buffer, i);
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (--this.depth === 0) return this.endValue(buffer, i);
      } else if (byte === NEWLINE) this.line++;
    }
    return length;
  }

  private keepPart(part: Buffer): void {
    this.valueStart = 0;
    if (part.length === 0 || (this.skeleton && this.kind === 'element')) return;
    this.bytes += part.length;
    this.checkSize();
    this.parts.push(part);
  }

  private checkSize(): void {
    if (this.bytes <= this.maxElementBytes) return;
    const first = this.parts[0];
    const text = first ? first.toString('utf8', 0, Math.min(first.length, 200)) : '';
    const what = this.kind === 'element' ? 'element' : this.kind === 'key' ? 'key' : `value of ${JSON.stringify(this.key)}`;
    throw this.fail(`the ${what} is larger than maxElementBytes (${this.maxElementBytes})`, text, this.kind === 'element' ? this.index : undefined, this.valueLine);
  }

  /** The value ends just before `end` in `buffer`: parse it, check it, emit it. Returns `end`. */
  private endValue(buffer: Buffer, end: number): number {
    if (this.skeleton && this.kind === 'element') {
      this.parts = [];
      this.index++;
      this.state = State.ArrayAfter;
      return end;
    }
    const start = this.valueStart;
    let bytes: Buffer;
    if (this.parts.length === 0) {
      this.bytes = end - start;
      this.checkSize();
      bytes = buffer.subarray(start, end);
    } else {
      this.keepPart(buffer.subarray(0, end));
      bytes = Buffer.concat(this.parts, this.bytes);
      this.parts = [];
    }
    const kind = this.kind;
    const index = kind === 'element' ? this.index : undefined;
    const invalid = utf8Problem(bytes);
    if (invalid) throw this.fail(invalid.problem, bytes.toString('utf8', 0, 200), index, this.valueLine + countNewlines(bytes, invalid.offset));
    const text = bytes.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const message = (error as Error).message;
      const at = /at position (\d+)/.exec(message);
      const line = this.valueLine + (at ? countNewlines(text, Number(at[1])) : 0);
      throw this.fail(message, text.slice(0, 200), index, line, error);
    }
    if (kind === 'key') {
      this.key = value as string;
      this.state = State.ObjectColon;
      return end;
    }
    if (kind === 'skip') {
      this.key = undefined;
      this.state = State.ObjectAfter;
      return end;
    }
    if (value === null || (this.objectsOnly && (typeof value !== 'object' || Array.isArray(value)))) {
      throw this.fail(`${describeType(value)} is not ${this.objectsOnly ? 'an object' : 'allowed (null cannot travel through a stream)'}`, text.slice(0, 200), index, this.valueLine);
    }
    const problem = this.validate?.(value, text);
    if (problem !== undefined) throw this.fail(problem, text.slice(0, 200), index, this.valueLine);
    this.index++;
    this.state = State.ArrayAfter;
    const item = this.positioned ? new PositionedText(text, value, { line: this.line, offset: this.chunkBase + end, index: this.index }) : this.keepText ? new JsonText(text, value) : value;
    if (!this.push(item)) this.full = true;
    return end;
  }

  /** The element (or value) being scanned opens its MAX_JSON_DEPTH + 1st level at `buffer[i]`. */
  private tooDeep(buffer: Buffer, i: number): JsonArrayError {
    const head = this.parts[0] ?? buffer.subarray(this.valueStart, i);
    const what = this.kind === 'element' ? 'the element' : `the value of ${JSON.stringify(this.key)}`;
    return this.fail(`${what} is nested deeper than ${MAX_JSON_DEPTH} levels (the limit of every reader)`, head.toString('utf8', 0, 80), this.kind === 'element' ? this.index : undefined, this.valueLine);
  }

  private excerpt(buffer: Buffer, i: number): string {
    return buffer.toString('utf8', i, Math.min(buffer.length, i + 40));
  }
}

function countNewlines(text: string | Buffer, before: number): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < before; i = text.indexOf('\n', i + 1)) count++;
  return count;
}
