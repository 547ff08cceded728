/**
 * The array under one key of a JSON object (a response body such as
 * `{"results": [{…}, {…}], "checkpoint": "…"}`) as JSONL lines, made from the body's bytes: each
 * element's bytes are copied as they are, plus `\n`. No element is parsed into an object and
 * serialized again.
 *
 * Why: a JSONL export spent its CPU decoding the body to a string, `JSON.parse`, `JSON.stringify`
 * of each record and encoding the lines back to bytes (profiled, 300 k records: 0.49 + 0.48 +
 * 0.50 + 0.68 s of 3.2 s busy, plus the GC of the objects), to write what the body already held.
 *
 * Nothing unchecked is copied: the whole body is read as strict JSON (RFC 8259, what `JSON.parse`
 * accepts) on its bytes, in one pass: structure, string escapes, raw control bytes in strings
 * (a raw newline there would split a line), numbers, literals, nothing after the document. An
 * element with whitespace between its tokens (pretty-printed, raw newlines included) is copied
 * without that whitespace, so every element is one line. A body this reader does not take whole
 * (not JSON, an element that is not an object, the key absent, not an array or present twice,
 * nesting deeper than {@link MAX_JSON_DEPTH}) gives `undefined`: the caller then reads it with
 * `JSON.parse` as before, which fails with its own error or reads what this reader declined.
 * The caller checks the encoding first (`isUtf8`): this reader assumes valid UTF-8, whose
 * multi-byte sequences never hold an ASCII byte.
 */
import { MAX_JSON_DEPTH } from './json-bytes.js';
import { JsonLines } from './json-lines.js';

const TAB = 0x09;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const ONE = 0x31;
const NINE = 0x39;
const COLON = 0x3a;
const UPPER_E = 0x45;
const OPEN_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_BRACKET = 0x5d;
const LOWER_E = 0x65;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** 1 for the bytes that may follow a backslash in a string, `u` aside. */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;
/** 1 for the bytes that stand for themselves in a string: not `"`, not `\\`, not a control byte. */
const STRING_PLAIN = new Uint8Array(256).fill(1, SPACE);
STRING_PLAIN[QUOTE] = 0;
STRING_PLAIN[BACKSLASH] = 0;
/** 1 for hex digits. */
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

/** What {@link arrayMemberLines} read. */
export interface ArrayMember {
  /** The array's elements, one line each, in order. */
  lines: JsonLines;
  /** The JSON text of another top-level member's value (the last one, as `JSON.parse` keeps), or undefined when absent. */
  member(key: string): string | undefined;
}

/**
 * The elements of the array under `key` of the JSON object in `body` (valid UTF-8) as lines, or
 * undefined when the body is not one this reader takes whole (see the top of this file). The
 * body is taken: its bytes become the lines (a separator after each element is overwritten
 * with the newline), so the caller must not read it afterwards, unless undefined came back.
 */
export function arrayMemberLines(body: Buffer, key: string): ArrayMember | undefined {
  return new MemberScan(body).read(key);
}

function isDigit(byte: number): boolean {
  return byte >= ZERO && byte <= NINE;
}

class MemberScan {
  /** The closing bracket expected for each open container of the value being read. */
  private readonly closers = new Uint8Array(MAX_JSON_DEPTH);
  /** Whitespace was met inside the value being read. */
  private spaced = false;
  /** Start and end offsets of each element, and the indexes of the elements holding whitespace. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly spacedElements: number[] = [];
  /** Offsets of the other members' values: [start, end). */
  private readonly members = new Map<string, [number, number]>();

  constructor(private readonly b: Buffer) {}

  read(key: string): ArrayMember | undefined {
    const b = this.b;
    let i = this.skip(0);
    if (b[i] !== OPEN_BRACE) return undefined;
    i = this.skip(i + 1);
    let found = false;
    for (;;) {
      if (b[i] !== QUOTE) return undefined;
      const keyStart = i;
      i = this.string(i + 1);
      if (i < 0) return undefined;
      const name = this.keyName(keyStart, i);
      i = this.skip(i);
      if (b[i] !== COLON) return undefined;
      i = this.skip(i + 1);
      if (name === key) {
        if (found) return undefined;
        found = true;
        i = this.elements(i);
      } else {
        const start = i;
        i = this.value(i);
        if (i >= 0) this.members.set(name, [start, i]);
      }
      if (i < 0) return undefined;
      i = this.skip(i);
      if (b[i] === COMMA) {
        i = this.skip(i + 1);
        continue;
      }
      if (b[i] !== CLOSE_BRACE) return undefined;
      i = this.skip(i + 1);
      break;
    }
    if (i !== b.length || !found) return undefined;
    const members = this.members;
    return {
      lines: this.lines(),
      member: (name) => {
        const at = members.get(name);
        return at === undefined ? undefined : b.toString('utf8', at[0], at[1]);
      },
    };
  }

  /** A key's name: its bytes, or `JSON.parse` of its text when it holds an escape. */
  private keyName(start: number, end: number): string {
    const text = this.b.toString('utf8', start, end);
    for (let i = start; i < end; i++) if (this.b[i] === BACKSLASH) return JSON.parse(text) as string;
    return text.slice(1, -1);
  }

  /** The array at `i`: each element must be an object. Returns the offset after it, or -1. */
  private elements(i: number): number {
    const b = this.b;
    if (b[i] !== OPEN_BRACKET) return -1;
    i = this.skip(i + 1);
    if (b[i] === CLOSE_BRACKET) return i + 1;
    for (;;) {
      if (b[i] !== OPEN_BRACE) return -1;
      const start = i;
      this.spaced = false;
      i = this.value(i);
      if (i < 0) return -1;
      if (this.spaced) this.spacedElements.push(this.starts.length);
      this.starts.push(start);
      this.ends.push(i);
      i = this.skip(i);
      if (b[i] === COMMA) i = this.skip(i + 1);
      else if (b[i] === CLOSE_BRACKET) return i + 1;
      else return -1;
    }
  }

  /** Whitespace from `i` on; returns the first other offset. */
  private skip(i: number): number {
    const b = this.b;
    // Compact JSON has none: every whitespace byte is below 0x21.
    if (b[i] > SPACE) return i;
    const n = b.length;
    while (i < n) {
      const c = b[i];
      if (c !== SPACE && c !== NEWLINE && c !== RETURN && c !== TAB) break;
      this.spaced = true;
      i++;
    }
    return i;
  }

  /**
   * The value starting at `i` (not whitespace); returns the offset just after it, or -1 when it
   * is not JSON or nests deeper than MAX_JSON_DEPTH. Iterative: the open containers are on `closers`.
   */
  private value(i: number): number {
    const b = this.b;
    const closers = this.closers;
    let depth = 0;
    for (;;) {
      const c = b[i];
      if (c === QUOTE) {
        i = this.string(i + 1);
      } else if (c === OPEN_BRACE) {
        if (depth === MAX_JSON_DEPTH) return -1;
        closers[depth++] = CLOSE_BRACE;
        i = this.skip(i + 1);
        if (b[i] === CLOSE_BRACE) {
          depth--;
          i++;
        } else {
          i = this.key(i);
          if (i < 0) return -1;
          continue;
        }
      } else if (c === OPEN_BRACKET) {
        if (depth === MAX_JSON_DEPTH) return -1;
        closers[depth++] = CLOSE_BRACKET;
        i = this.skip(i + 1);
        if (b[i] === CLOSE_BRACKET) {
          depth--;
          i++;
        } else {
          continue;
        }
      } else if (c === MINUS || isDigit(c)) {
        i = this.number(i);
      } else if (c === 0x74) {
        i = b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65 ? i + 4 : -1; // true
      } else if (c === 0x66) {
        i = b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65 ? i + 5 : -1; // false
      } else if (c === 0x6e) {
        i = b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c ? i + 4 : -1; // null
      } else {
        return -1;
      }
      if (i < 0) return -1;
      // After a value: close containers, or a comma and the next value (after a key in an object).
      for (;;) {
        if (depth === 0) return i;
        i = this.skip(i);
        const closer = closers[depth - 1];
        const next = b[i];
        if (next === COMMA) {
          i = this.skip(i + 1);
          if (closer === CLOSE_BRACE) {
            i = this.key(i);
            if (i < 0) return -1;
          }
          break;
        }
        if (next !== closer) return -1;
        depth--;
        i++;
      }
    }
  }

  /** A key and its colon at `i`; returns the offset of the value after them, or -1. */
  private key(i: number): number {
    const b = this.b;
    if (b[i] !== QUOTE) return -1;
    i = this.string(i + 1);
    if (i < 0) return -1;
    i = this.skip(i);
    if (b[i] !== COLON) return -1;
    return this.skip(i + 1);
  }

  /** A string's body from `i` (after its opening quote); returns the offset after its closing quote, or -1. */
  private string(i: number): number {
    const b = this.b;
    const n = b.length;
    while (i < n) {
      const c = b[i++];
      if (STRING_PLAIN[c] === 1) continue;
      if (c === QUOTE) return i;
      if (c === BACKSLASH) {
        const escaped = b[i++];
        if (escaped === 0x75) {
          if ((HEX[b[i]] & HEX[b[i + 1]] & HEX[b[i + 2]] & HEX[b[i + 3]]) !== 1) return -1;
          i += 4;
        } else if (SIMPLE_ESCAPE[escaped] !== 1) {
          return -1;
        }
      } else if (c < SPACE) {
        // A raw control byte (a newline among them) is not allowed inside a string.
        return -1;
      }
    }
    return -1;
  }

  /** A number at `i`; returns the offset after it, or -1. */
  private number(i: number): number {
    const b = this.b;
    if (b[i] === MINUS) i++;
    const first = b[i];
    if (first === ZERO) i++;
    else if (first >= ONE && first <= NINE) while (isDigit(b[++i]));
    else return -1;
    if (b[i] === DOT) {
      if (!isDigit(b[++i])) return -1;
      while (isDigit(b[++i]));
    }
    if (b[i] === LOWER_E || b[i] === UPPER_E) {
      i++;
      if (b[i] === PLUS || b[i] === MINUS) i++;
      if (!isDigit(b[i])) return -1;
      while (isDigit(b[++i]));
    }
    return i;
  }

  /** The elements as lines: one copy of the bytes, whitespace dropped from the elements that hold some. */
  private lines(): JsonLines {
    const { b, starts, ends } = this;
    const count = starts.length;
    const lineEnds = new Uint32Array(count);
    if (count === 0) return new JsonLines(Buffer.alloc(0), lineEnds);
    const compacted = new Map<number, Buffer>();
    for (const index of this.spacedElements) compacted.set(index, compact(b, starts[index], ends[index]));
    // The usual page: elements back to back (`},{`), none compacted. The lines are then the body's
    // own bytes with each separator (and the byte after the last element) made a newline: no copy.
    // (Copying measured dearer than it looks: a fresh 2.3 MB buffer a page costs its page faults.)
    let backToBack = compacted.size === 0;
    for (let k = 1; backToBack && k < count; k++) backToBack = starts[k] === ends[k - 1] + 1;
    if (backToBack) {
      const first = starts[0];
      for (let k = 0; k < count; k++) {
        b[ends[k]] = NEWLINE;
        lineEnds[k] = ends[k] - first + 1;
      }
      return new JsonLines(b.subarray(first, ends[count - 1] + 1), lineEnds);
    }
    let total = 0;
    for (let k = 0; k < count; k++) total += (compacted.get(k)?.length ?? ends[k] - starts[k]) + 1;
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (let k = 0; k < count; k++) {
      const own = compacted.get(k);
      at += own ? own.copy(out, at) : b.copy(out, at, starts[k], ends[k]);
      out[at++] = NEWLINE;
      lineEnds[k] = at;
    }
    return new JsonLines(out, lineEnds);
  }
}

/** `b[start, end)` (valid JSON) without the whitespace between its tokens. */
function compact(b: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  let at = 0;
  let inString = false;
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (inString) {
      if (c === BACKSLASH) {
        out[at++] = c;
        out[at++] = b[++i];
        continue;
      }
      if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === SPACE || c === NEWLINE || c === RETURN || c === TAB) {
      continue;
    }
    out[at++] = c;
  }
  return out.subarray(0, at);
}
