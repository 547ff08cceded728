/**
 * Checks of an item's raw bytes that `JSON.parse` does not make, shared by every path that reads
 * JSON input (parseJsonl, parseJsonArray, and the import's line check), so one input is refused
 * or accepted the same way whichever command reads it:
 *
 * - **UTF-8**: decoding replaces an invalid byte with U+FFFD, silently changing the data, while
 *   the import uploads the bytes as they are. Invalid UTF-8 is refused, naming the byte.
 * - **Nesting depth**: `JSON.parse` accepts any depth, but `JSON.stringify` (and so any consumer
 *   that re-serializes) overflows the call stack near 4,000 levels, with a bare "Maximum call
 *   stack size exceeded". One limit, {@link MAX_JSON_DEPTH}, is checked up front.
 * - **Encoding of the whole input**: gzip or UTF-16 bytes otherwise fail as "Unexpected token";
 *   {@link otherEncoding} names them from the input's first bytes.
 */
import { isUtf8 } from 'node:buffer';

/**
 * Deepest nesting of arrays and objects accepted in one item (`[[1]]` is 2 deep). Deeper input
 * is refused by every reader. 1,000 is far beyond real records, and well below the depth at
 * which a re-serializer (`JSON.stringify`, ~4,000 in Node; many servers use 512 or 1,000) fails.
 */
export const MAX_JSON_DEPTH = 1000;


const JSON_BLANK = /^[ \t\r\n]*$/;

/**
 * A line holding JSON whitespace only (space, tab, CR, LF): a blank line every reader skips.
 * Not `String#trim`, which also removes U+00A0, U+FEFF and other spaces that JSON refuses, so a
 * line of those would be skipped by one reader and uploaded by another.
 */
export function isBlankLine(line: string): boolean {
  return JSON_BLANK.test(line);
}

/** What is wrong with an item's bytes, and where (a byte offset into the item). */
export interface JsonBytesProblem {
  problem: string;
  /** 0-based offset in the item's bytes of the first offending byte. */
  offset: number;
}

/**
 * The first problem of `bytes[start, end)` (one item's JSON text) that `JSON.parse` would not
 * report: invalid UTF-8, or nesting deeper than {@link MAX_JSON_DEPTH}. Undefined when there is
 * none (`knownUtf8`: the caller has checked the encoding of a larger range). Fast on valid input: `isUtf8` runs at memory speed, and the depth is only counted for
 * items long enough to hold that many brackets and that do hold them.
 */
export function jsonBytesProblem(bytes: Buffer, start = 0, end = bytes.length, knownUtf8 = false): JsonBytesProblem | undefined {
  const item = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
  return (knownUtf8 ? undefined : utf8Problem(item)) ?? depthProblem(item);
}

/**
 * {@link jsonBytesProblem} of one JSONL line, `lineNumber` 1-based: the first line is also checked
 * for the signature of another encoding (gzip, UTF-16), named instead of a confusing parse error.
 * The one call a line reader makes (the import's line check uses it).
 */
export function jsonLineProblem(bytes: Buffer, start: number, end: number, lineNumber: number): JsonBytesProblem | undefined {
  const encoding = lineNumber === 1 ? otherEncoding(bytes.subarray(start, Math.min(end, start + 4))) : undefined;
  return encoding !== undefined ? { problem: encoding, offset: 0 } : jsonBytesProblem(bytes, start, end);
}

/** Invalid UTF-8 in `item` (one item's bytes), naming the first bad byte; undefined when valid. */
export function utf8Problem(item: Buffer): JsonBytesProblem | undefined {
  if (isUtf8(item)) return undefined;
  const offset = firstInvalidUtf8(item);
  return { problem: `invalid UTF-8 (byte 0x${item[offset].toString(16).padStart(2, '0')} at byte ${offset + 1} of the item): the input must be UTF-8`, offset };
}

/** Nesting deeper than {@link MAX_JSON_DEPTH} in an item's bytes, or undefined. */
function depthProblem(item: Buffer): JsonBytesProblem | undefined {
  // Depth N needs N opening brackets: most items cannot hold that many and are not scanned.
  if (item.length <= MAX_JSON_DEPTH * 2 || countOpenings(item, MAX_JSON_DEPTH) <= MAX_JSON_DEPTH) return undefined;
  return jsonDepthProblem(item.toString('utf8'));
}

/**
 * Nesting deeper than {@link MAX_JSON_DEPTH} in an item's JSON text (outside strings), or
 * undefined; `offset` is then a character offset. Cheap for short items (they are not scanned).
 */
export function jsonDepthProblem(text: string): JsonBytesProblem | undefined {
  if (text.length <= MAX_JSON_DEPTH * 2 || countOpenings(text, MAX_JSON_DEPTH) <= MAX_JSON_DEPTH) return undefined;
  const offset = depthExceededAt(text, MAX_JSON_DEPTH);
  return offset < 0 ? undefined : { problem: `nested deeper than ${MAX_JSON_DEPTH} levels (the limit of every reader)`, offset };
}

/**
 * Offset of the bracket (outside strings) that opens level `limit + 1` of `text`, or -1.
 * Self-contained (no reference outside its body), so a worker thread can eval its source.
 */
export function depthExceededAt(text: string, limit: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) {
      // Skip the string body: find its closing quote (one not escaped by an odd backslash run).
      for (let quote = text.indexOf('"', i + 1); ; quote = text.indexOf('"', quote + 1)) {
        if (quote < 0) return -1; // unterminated: JSON.parse says so
        let run = 0;
        for (let b = quote - 1; text.charCodeAt(b) === 0x5c; b--) run++;
        if (run % 2 === 0) {
          i = quote;
          break;
        }
      }
    } else if (code === 0x7b || code === 0x5b) {
      if (++depth > limit) return i;
    } else if (code === 0x7d || code === 0x5d) {
      depth--;
    }
  }
  return -1;
}

/** Opening brackets in `item`, counted up to just past `limit`. */
function countOpenings(item: Buffer | string, limit: number): number {
  let count = 0;
  for (const opening of ['[', '{']) {
    for (let i = item.indexOf(opening); i >= 0 && count <= limit; i = item.indexOf(opening, i + 1)) count++;
  }
  return count;
}

/** Offset of the first byte that does not belong to a valid UTF-8 sequence (`item` is known to be invalid). */
function firstInvalidUtf8(item: Buffer): number {
  for (let i = 0; i < item.length; ) {
    const byte = item[i];
    const length = byte < 0x80 ? 1 : byte >= 0xc2 && byte <= 0xdf ? 2 : byte >= 0xe0 && byte <= 0xef ? 3 : byte >= 0xf0 && byte <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > item.length || !isUtf8(item.subarray(i, i + length))) return i;
    i += length;
  }
  return 0;
}

/**
 * What the input is when its first bytes show it is not UTF-8 text (gzip, UTF-16, UTF-32), with
 * what to do; undefined otherwise. `head` is the input's first bytes (at least 4 when it has them).
 */
export function otherEncoding(head: Buffer): string | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'the input is gzip-compressed: decompress it first (e.g. gunzip -c FILE | inference-streams … --in -)';
  const utf16 = 'the input looks like UTF-16 (or UTF-32), not UTF-8: convert it first (e.g. iconv -f UTF-16 -t UTF-8 FILE)';
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) return utf16;
  // JSON text starts with an ASCII character; in UTF-16/32 one of its first two bytes is NUL.
  if (head.length >= 2 && (head[0] === 0 || head[1] === 0)) return utf16;
  return undefined;
}
