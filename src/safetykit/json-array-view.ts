/**
 * A JSON array file seen as JSONL, byte for byte, so that `importFile()` uploads it in place
 * (no spool copy) and resumes it the way it resumes a JSONL file: by byte ranges of the file.
 *
 * The view of the bytes between the array's `[` and `]` changes three kinds of bytes and nothing
 * else: each comma between elements becomes `\n`, the closing `]` becomes `\n`, and a raw CR or
 * LF between tokens becomes a space (in valid JSON a raw CR or LF can only stand between tokens).
 * So every element is one line holding its own text, digits and all (`12345678901234567890`,
 * `1e400`, `-0`, `1.0` and duplicate keys arrive as they are written), and a range of the file
 * is exactly as long as its view: a part's `Content-Length` is its byte count in the file.
 *
 * A part is a byte range `[start, end)` that starts just after a comma (or the `[`) and ends just
 * after a comma (or the `]`). Finding where a part ends means scanning it (strings, escapes,
 * bracket depth); every element's text is then checked by the same line check as a JSONL file's.
 */
import { open } from 'node:fs/promises';
import { JsonArrayError, JsonlError } from '../core/errors.js';
import { readRange } from '../core/file-identity.js';
import { skipJsonString, type StringScanState } from '../core/json-string.js';
import { decideShape } from '../core/json-input.js';
import { objectLineCheck, type CheckLine } from './line-check.js';

const QUOTE = 0x22;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const SPACE = 0x20;
const READ_BYTES = 256 * 1024;
/** Bytes read at the start of the file to find the `[` (leading whitespace longer than this is refused). */
const HEAD_BYTES = 64 * 1024;

function isSpace(byte: number): boolean {
  return byte === SPACE || byte === NEWLINE || byte === RETURN || byte === 0x09;
}

/** What ends an element: a comma at the top level, or the bracket that closes the array (a `}` there is an error). */
export type Boundary = 'comma' | 'close' | 'stray-brace';

/**
 * Walks the bytes of an array's elements, from just after a comma or the `[` (depth 0, outside
 * any string), chunk by chunk: tracks strings, escapes and depth, counts newlines, reports each
 * element boundary, and can rewrite each chunk into its JSONL view in place.
 */
export class ArrayScan {
  private inString = false;
  /** Carried between chunks while inside a string. */
  private readonly stringScan: StringScanState = { escaped: false };
  private depth = 0;
  /** LF bytes seen (outside strings, the only place valid JSON has them). */
  newlines = 0;

  /**
   * Scan `chunk` (whose first byte is the `offset`-th of the scan). `onBoundary(i, kind)` is called
   * at each boundary (with `newlines` counted up to it); returning false stops the scan there.
   * With `map`, the chunk is rewritten into its view as it goes. Returns where it stopped.
   */
  scan(chunk: Buffer, map: boolean, onBoundary?: (index: number, kind: Boundary) => boolean): number {
    const length = chunk.length;
    let i = 0;
    while (i < length) {
      if (this.inString) {
        const end = skipJsonString(chunk, i, this.stringScan);
        if (end < 0) return length;
        i = end;
        this.inString = false;
        continue;
      }
      const byte = chunk[i];
      if (byte === QUOTE) {
        this.inString = true;
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        this.depth++;
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (this.depth === 0) {
          if (map) chunk[i] = NEWLINE;
          if (onBoundary && !onBoundary(i, byte === CLOSE_BRACKET ? 'close' : 'stray-brace')) return i;
        } else {
          this.depth--;
        }
      } else if (byte === COMMA) {
        if (this.depth === 0) {
          if (map) chunk[i] = NEWLINE;
          if (onBoundary && !onBoundary(i, 'comma')) return i;
        }
      } else if (byte === NEWLINE) {
        this.newlines++;
        if (map) chunk[i] = SPACE;
      } else if (byte === RETURN && map) {
        chunk[i] = SPACE;
      }
      i++;
    }
    return length;
  }
}

/** Where a part ends, from {@link JsonArrayFile.partEnd}. */
export interface ArrayPartEnd {
  /** The byte after the part's last boundary. */
  end: number;
  /** The part ends with the array's `]`. */
  last: boolean;
  /** The part holds no element (only whitespace before the `]`: an empty array). */
  empty: boolean;
  /** LF bytes in `[start, end)`. */
  newlines: number;
}

/** The JSON array file being imported: where its elements start, where each part ends, and what follows the array. */
export class JsonArrayFile {
  constructor(
    private readonly path: string,
    private readonly size: number,
    /** Name of the file in errors. */
    private readonly source: string,
    private readonly maxLineBytes: number,
  ) {}

  /**
   * The byte just after the array's `[`, its 1-based line, and whether the array is the document
   * or the value of `"data"`, the first key of a top-level object (`{"data": [...]}`, `wrapped`).
   * The shape is decided by the same rule as every other input's (`decideShape`).
   */
  async firstElement(): Promise<{ start: number; fileLine: number; wrapped: boolean }> {
    const head = await this.read(0, Math.min(this.size, HEAD_BYTES));
    const shape = decideShape(head, true);
    let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
    for (; i < head.length && isSpace(head[i]); i++);
    if (shape === 'array' || shape === 'data-array') {
      // The first "[" is the array's: before it stand only whitespace, or `{ "data" :`.
      const bracket = head.indexOf(OPEN_BRACKET, i);
      return { start: bracket + 1, fileLine: 1 + countNewlines(head, 0, bracket), wrapped: shape === 'data-array' };
    }
    const line = 1 + countNewlines(head, 0, i);
    const found = i >= head.length ? (this.size === 0 ? 'the file is empty' : 'only whitespace') : JSON.stringify(head.toString('utf8', i, i + 40));
    throw new JsonArrayError({ line }, `expected a JSON array ("[") or {"data": [...]}, found ${found}`, '', { source: this.source });
  }

  /**
   * End of the part that starts at `start` (just after `[` or a comma; `fileLine` is its line):
   * just after the last boundary within `partBytes` bytes, or after the first one beyond when one
   * element is longer (at most `maxLineBytes` more are read; a longer element fails its line check).
   * When the part reaches the `]`, what follows the array is checked here, before it is uploaded.
   */
  async partEnd(start: number, partBytes: number, fileLine: number, first: boolean, wrapped: boolean): Promise<ArrayPartEnd> {
    const limit = start + partBytes;
    const stop = Math.min(this.size, limit + this.maxLineBytes + 2);
    const scan = new ArrayScan();
    // Held in an object: TypeScript does not see assignments made in the callback.
    const best: { at?: number; kind?: Boundary; newlines: number; previous: number } = { newlines: 0, previous: start - 1 };
    let onlySpace = true;
    let reachedEnd = false;
    const handle = await open(this.path, 'r');
    try {
      for (let position = start; position < stop; ) {
        const chunk = await readRange(handle, position, Math.min(READ_BYTES, stop - position));
        if (chunk.length === 0) break;
        const base = position;
        const stoppedAt = scan.scan(chunk, false, (index, kind) => {
          // Past the limit with a boundary in hand: the part ends at that one.
          if (base + index + 1 > limit && best.at !== undefined) return false;
          Object.assign(best, { previous: best.at ?? start - 1, at: base + index, kind, newlines: scan.newlines });
          return kind === 'comma' && base + index + 1 < limit;
        });
        if (onlySpace) onlySpace = isBlank(chunk, 0, stoppedAt);
        if (stoppedAt < chunk.length) break;
        reachedEnd = base + chunk.length >= this.size;
        position += chunk.length;
      }
    } finally {
      await handle.close();
    }
    // Read to the end of the file without meeting the "]": the array is cut short (said now, before this part is uploaded).
    if (best.kind !== 'close' && reachedEnd && best.kind !== 'stray-brace') {
      throw new JsonArrayError({ line: fileLine + scan.newlines }, 'the input ended inside the array (is it cut short?)', '', { source: this.source });
    }
    if (best.at === undefined) return { end: stop, last: false, empty: false, newlines: scan.newlines };
    const line = fileLine + best.newlines;
    if (best.kind === 'stray-brace') throw new JsonArrayError({ line }, 'expected "," or "]" between elements, found "}"', '', { source: this.source });
    const last = best.kind === 'close';
    const empty = last && onlySpace;
    if (last) {
      const trailing = !empty && best.previous >= start && isBlank(await this.read(best.previous + 1, Math.min(HEAD_BYTES, best.at - best.previous - 1)));
      if ((empty && !first) || trailing) throw new JsonArrayError({ line }, 'expected an element after "," (trailing commas are not JSON)', '', { source: this.source });
      await this.checkAfterArray(best.at + 1, line, wrapped);
    }
    return { end: best.at + 1, last, empty, newlines: best.newlines };
  }

  /**
   * Of `{"data": [...]}`, before any part is uploaded: what follows the `data` array (another
   * array beside it is refused) — one scan of the file, so that a refusal uploads nothing. An
   * array that does not end, or ends badly, is left to `partEnd`, which names it in place.
   */
  async checkWrapper(start: number, fileLine: number): Promise<void> {
    const scan = new ArrayScan();
    let close: number | undefined;
    const handle = await open(this.path, 'r');
    try {
      for (let position = start; position < this.size && close === undefined; ) {
        const chunk = await readRange(handle, position, Math.min(READ_BYTES, this.size - position));
        if (chunk.length === 0) break;
        const base = position;
        let stopped = false;
        scan.scan(chunk, false, (index, kind) => {
          if (kind === 'comma') return true;
          if (kind === 'close') close = base + index;
          stopped = true;
          return false;
        });
        if (stopped && close === undefined) return;
        position += chunk.length;
      }
    } finally {
      await handle.close();
    }
    if (close !== undefined) await this.checkAfterArray(close + 1, fileLine + scan.newlines, true);
  }

  /**
   * What follows the `]`: nothing but whitespace, or the rest of the `{"data": [...]}` object
   * (`wrapped`), which may hold other keys but no other array: only `data` is imported, and an
   * array beside it would be left out without a word.
   */
  private async checkAfterArray(after: number, line: number, wrapped: boolean): Promise<void> {
    if (this.size - after > this.maxLineBytes) throw new JsonArrayError({ line }, `more than maxLineBytes (${this.maxLineBytes}) bytes follow the array`, '', { source: this.source });
    const rest = (await this.read(after, this.size - after)).toString('utf8');
    if (!wrapped) {
      if (rest.trim().length > 0) throw new JsonArrayError({ line }, 'unexpected text after the end of the array', rest.trim().slice(0, 40), { source: this.source });
      return;
    }
    let wrapper: Record<string, unknown>;
    try {
      wrapper = JSON.parse(`{"data":[]${rest}`) as Record<string, unknown>;
    } catch (error) {
      throw new JsonArrayError({ line }, `the document around the "data" array is not valid JSON (${(error as Error).message})`, rest.trim().slice(0, 40), { source: this.source, cause: error });
    }
    const data = wrapper.data;
    if (!Array.isArray(data) || data.length > 0) throw new JsonArrayError({ line }, 'the document has "data" twice', '', { source: this.source });
    const other = Object.keys(wrapper).find((key) => key !== 'data' && Array.isArray(wrapper[key]));
    if (other !== undefined) {
      throw new JsonArrayError(
        { line },
        `the document holds another array, ${JSON.stringify(other)}, beside "data": only the "data" array of {"data": [...]} is imported, so its items would be left out: put them in a file of their own to import them`,
        '',
        { source: this.source },
      );
    }
  }

  /**
   * The 1-based file line of element `index` (0-based, counted from the part's first element) of
   * the part `[start, …)` that starts on `fileLine`: for error messages only (it reads the part again).
   */
  async lineOf(start: number, fileLine: number, index: number): Promise<number> {
    const scan = new ArrayScan();
    let seen = 0;
    let elementStart = index === 0 ? start : -1;
    let newlines = 0;
    const handle = await open(this.path, 'r');
    try {
      for (let position = start; position < this.size && elementStart < 0; ) {
        const chunk = await readRange(handle, position, Math.min(READ_BYTES, this.size - position));
        if (chunk.length === 0) break;
        const base = position;
        scan.scan(chunk, false, (i) => {
          if (++seen < index) return true;
          elementStart = base + i + 1;
          newlines = scan.newlines;
          return false;
        });
        position += chunk.length;
      }
      if (elementStart < 0) return fileLine;
      // The element's line is the one of its first byte, past the whitespace after the comma.
      const after = await readRange(handle, elementStart, Math.min(HEAD_BYTES, this.size - elementStart));
      for (let i = 0; i < after.length && isSpace(after[i]); i++) if (after[i] === NEWLINE) newlines++;
    } finally {
      await handle.close();
    }
    return fileLine + newlines;
  }

  private async read(position: number, length: number): Promise<Buffer> {
    const handle = await open(this.path, 'r');
    try {
      return await readRange(handle, position, length);
    } finally {
      await handle.close();
    }
  }
}

/**
 * The line check of an element in the view: as a JSONL line's (an object with a string id), but a
 * blank line is an error here, an empty place in the array (`[,` or `,,`).
 */
export function arrayElementCheck(maxLineBytes: number, source: string | undefined): CheckLine {
  const objectLine = objectLineCheck(maxLineBytes, source);
  return (buffer, start, end, lineNumber) => {
    if (objectLine(buffer, start, end, lineNumber)) return true;
    throw new JsonlError(lineNumber, 'expected an element (an empty place between commas is not JSON)', '', { source });
  };
}

/**
 * An error of the view's line check (a `JsonlError` whose line is 1 + the element's index) as a
 * `JsonArrayError` naming the element's index and its line in the file.
 */
export async function elementError(error: JsonlError, file: JsonArrayFile, part: { start: number; firstLine: number; fileLine?: number }, source: string): Promise<JsonArrayError> {
  const index = error.line - 1;
  const line = await file.lineOf(part.start, part.fileLine ?? 1, index - (part.firstLine - 1)).catch(() => part.fileLine ?? 1);
  return new JsonArrayError({ line, index }, error.problem, error.excerpt, { source, cause: error.cause });
}

function countNewlines(buffer: Buffer, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) if (buffer[i] === NEWLINE) count++;
  return count;
}

function isBlank(buffer: Buffer, from = 0, to = buffer.length): boolean {
  for (let i = from; i < to; i++) if (!isSpace(buffer[i])) return false;
  return true;
}
