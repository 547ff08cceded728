/**
 * CSV rows made from a page's results as JSON lines (`JsonLines`, the bytes of each result as the
 * body held them), without `JSON.parse`, record objects or a row array: the CSV destination and
 * the Parquet destination's CSV stage take an export's pages this way (`writeLines`).
 *
 * Why: profiled (CSV export of 300 k records, `node --cpu-prof`), the object path spent its time
 * decoding each body to a string and `JSON.parse` (25 % of busy CPU), the GC of the records and
 * row arrays (20 %), and `field()` with `Buffer.from` of the page's CSV text (9 %), where the
 * JSONL export, which copies the results' bytes, spent a fifth of the CPU a record.
 *
 * How: each record (a line) is walked once along a tree of the mapping's column paths. A key is
 * matched on its bytes; a string value without a backslash is the cell's bytes as they are (such
 * a string holds no `"`, CR or LF, so the cell is quoted only for a comma), `true`/`false`/null as
 * the CSV writer writes them, and a timestamp is checked by `cellOf` (the same strict RFC 3339
 * check) on a short latin1 string. The cells are then written in column order.
 *
 * The reference stays the object path (`csvRows`: `JSON.parse`, `ColumnMapping.row`, `field`),
 * and the output is byte-identical to it for every record: any record this walk is not sure of is
 * handed to it (`JSON.parse` of that line and the caller's row writer): a string with an escape,
 * a key no column takes or met twice, a number, an array or an object where a column is, a value
 * of the wrong type for its column (it would go to `extras`), a timestamp `cellOf` refuses, a
 * line that is not compact JSON. A page that is not valid UTF-8 (this walk copies bytes as they
 * are) goes there whole. `test/destinations-csv-lines.test.ts` compares the two on random and
 * hostile records.
 *
 * Only mappings of `./columns.ts` (`isPathMapping`) with string, boolean and timestamp columns
 * take the walk (the Innerworks mapping does); others have every record written by the fallback.
 */
import { isUtf8 } from 'node:buffer';
import type { JsonLines } from '../core/json-lines.js';
import { cellOf, EXTRAS_COLUMN, isPathMapping, RECORD_COLUMN, type ColumnMapping } from './columns.js';
import type { CsvFormatOptions } from './csv.js';

/** The CSV text (no header) of `records` by the reference path: `csvRows` with the same mapping and format. */
export type CsvRowsOf = (records: readonly object[]) => string;

const NEWLINE = 0x0a;
const RETURN = 0x0d;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const LOWER_N = 0x6e;
const LOWER_T = 0x74;
const LOWER_F = 0x66;
const UPPER_T = 0x54;
const UPPER_Z = 0x5a;
const DOT = 0x2e;

/** Bytes inside a JSON string: 0 plain, 1 comma (plain, but the CSV cell needs quotes), 2 anything that ends the fast read (`"`, `\`, a control byte). */
const STRING_BYTE = new Uint8Array(256);
STRING_BYTE.fill(2, 0, 0x20);
STRING_BYTE[QUOTE] = 2;
STRING_BYTE[0x5c] = 2;
STRING_BYTE[COMMA] = 1;
/** First bytes a spreadsheet runs as a formula (csv.ts FORMULA_START; a tab or CR cannot stand raw in a JSON string). */
const FORMULA_BYTE = new Uint8Array(256);
for (const c of '=+-@') FORMULA_BYTE[c.charCodeAt(0)] = 1;

/** What a cell holds after the walk of a record. */
const CELL_NULL = 0;
/** The bytes at [start, end) as they are. */
const CELL_TEXT = 1;
/** The bytes at [start, end), quoted (they hold a comma). */
const CELL_QUOTED = 2;
const CELL_TRUE = 3;
const CELL_FALSE = 4;
/** A timestamp not written the way `toISOString` writes it: epoch ms in `times`. */
const CELL_TIME = 5;

const TYPE_STRING = 0;
const TYPE_BOOLEAN = 1;
const TYPE_TIMESTAMP = 2;

/** A key of the path tree: a column (column >= 0), or an object whose keys lead to columns. */
interface KeyNode {
  readonly key: Buffer;
  /** Index in `seen`: each key is taken once a record. */
  readonly id: number;
  readonly column: number;
  readonly type: number;
  readonly children: KeyNode[];
  /**
   * Guesses of the key order (records of one source write their keys in one order): the index
   * in `children` of this object's first key, and of the key after this one, last time.
   */
  first: number;
  after: number;
}


/**
 * The CSV rows of JSON lines for one mapping and format. `encode` gives the same bytes as
 * `Buffer.from(rowsOf(records))` for the records the lines hold (see the top of this file).
 */
export class CsvLineRows {
  private readonly root: KeyNode | undefined;
  /** Typed columns (before `extras`). */
  private readonly width: number;
  private readonly keepRecord: boolean;
  private readonly escapeFormulas: boolean;
  /** Per typed column: its type; and of the record being read: what each cell holds. */
  private readonly types: Uint8Array;
  private readonly cells: Uint8Array;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly times: Float64Array;
  /** The record number (`stamp`) in which each key of the tree was last met. */
  private seen: Uint32Array = new Uint32Array(0);
  private stamp = 0;
  /** The bytes being read. */
  private b: Buffer = Buffer.alloc(0);

  constructor(
    mapping: ColumnMapping,
    format: CsvFormatOptions,
    private readonly rowsOf: CsvRowsOf,
  ) {
    const columns = mapping.columns;
    this.width = columns.findIndex((column) => column.path.length === 0);
    this.keepRecord = columns.length === this.width + 2;
    this.escapeFormulas = format.escapeFormulas === true;
    this.types = new Uint8Array(Math.max(0, this.width));
    this.cells = new Uint8Array(this.types.length);
    this.starts = new Int32Array(this.types.length);
    this.ends = new Int32Array(this.types.length);
    this.times = new Float64Array(this.types.length);
    this.root = this.pathTree(mapping);
  }

  /** The tree of the column paths, or undefined when this mapping's records all take the fallback. */
  private pathTree(mapping: ColumnMapping): KeyNode | undefined {
    const columns = mapping.columns;
    const layout =
      isPathMapping(mapping) &&
      this.width > 0 &&
      columns[this.width].name === EXTRAS_COLUMN &&
      (!this.keepRecord || columns[this.width + 1].name === RECORD_COLUMN) &&
      columns.length <= this.width + 2;
    if (!layout) return undefined;
    let ids = 0;
    const root: KeyNode = { key: Buffer.alloc(0), id: ids++, column: -1, type: -1, children: [], first: 0, after: 0 };
    for (let index = 0; index < this.width; index++) {
      const { path, type } = columns[index];
      const code = type === 'string' ? TYPE_STRING : type === 'boolean' ? TYPE_BOOLEAN : type === 'timestamp' ? TYPE_TIMESTAMP : -1;
      // Other types, keys JSON.stringify would put first (array indexes: the `record` cell would
      // not be the line's bytes), and keys JSON writes with an escape (matched as raw bytes): no walk.
      if (code < 0 || path.some((key) => /^(0|[1-9][0-9]*)$/.test(key) || /["\\\u0000-\u001f]/.test(key))) return undefined;
      this.types[index] = code;
      let node = root;
      path.forEach((key, depth) => {
        const bytes = Buffer.from(key);
        let child = node.children.find((candidate) => candidate.key.equals(bytes));
        if (!child) {
          const leaf = depth === path.length - 1;
          child = { key: bytes, id: ids++, column: leaf ? index : -1, type: leaf ? code : -1, children: [], first: 0, after: 0 };
          node.children.push(child);
        }
        node = child;
      });
    }
    this.seen = new Uint32Array(ids);
    return root;
  }

  /** The CSV rows of every line of `lines`, in order. */
  encode(lines: JsonLines): Buffer {
    const count = lines.length;
    const bytes = lines.bytes;
    if (count === 0) return Buffer.alloc(0);
    // Cells are copied as bytes: they must be valid UTF-8, as decoding would make them.
    if (this.root === undefined || !isUtf8(bytes)) return this.allByFallback(lines);
    this.b = bytes;
    const out = new OutBuffer(bytes.length + count * 8 + 1024);
    const perRecord = this.width * 32 + 8;
    let start = 0;
    let index = 0;
    try {
      for (; index < count; index++) {
        const end = bytes.indexOf(NEWLINE, start);
        // JsonLines holds one value a line: a line end short of `count` would be a broken page.
        if (end < 0) break;
        out.reserve((end - start) * (this.keepRecord ? 3 : 1) + perRecord);
        if (!this.row(start, end, out)) out.text(this.rowsOf([JSON.parse(bytes.toString('utf8', start, end)) as object]));
        start = end + 1;
      }
    } finally {
      this.b = Buffer.alloc(0);
    }
    if (index < count || start !== bytes.length) return this.allByFallback(lines);
    return out.bytes();
  }

  /** Every record by the reference path. */
  private allByFallback(lines: JsonLines): Buffer {
    const records: object[] = [];
    for (let i = 0; i < lines.length; i++) records.push(lines.value(i) as object);
    return Buffer.from(this.rowsOf(records));
  }

  /** The row of the line at [start, end) into `out`; false (nothing written) when the walk is not sure of it. */
  private row(start: number, end: number, out: OutBuffer): boolean {
    const width = this.width;
    const cells = this.cells;
    cells.fill(CELL_NULL);
    // A fresh stamp a record: every key unseen, without clearing `seen`.
    if (++this.stamp === 0xffffffff) {
      this.seen.fill(0);
      this.stamp = 1;
    }
    if (this.b[start] !== OPEN_BRACE || this.walk(this.root!, start) !== end) return false;
    const b = this.b;
    const o = out.buffer;
    let at = out.length;
    for (let column = 0; column < width; column++) {
      if (column > 0) o[at++] = COMMA;
      const cell = cells[column];
      if (cell === CELL_TEXT || cell === CELL_QUOTED) {
        const from = this.starts[column];
        const to = this.ends[column];
        const quoted = cell === CELL_QUOTED;
        if (quoted) o[at++] = QUOTE;
        // `'` before a formula-like text cell (csv.ts field(): text columns only).
        if (this.escapeFormulas && this.types[column] === TYPE_STRING && FORMULA_BYTE[b[from]] === 1) o[at++] = APOSTROPHE;
        else if (from === to) {
          // The empty string: `""`, apart from null's empty field.
          o[at++] = QUOTE;
          o[at++] = QUOTE;
        }
        // A loop: Buffer#copy makes a view per call, dearer than the loop below ~500 bytes (profiled).
        if (to - from > 512) at += b.copy(o, at, from, to);
        else for (let i = from; i < to; i++) o[at++] = b[i];
        if (quoted) o[at++] = QUOTE;
      } else if (cell === CELL_TRUE) {
        o[at++] = LOWER_T;
        o[at++] = 0x72;
        o[at++] = 0x75;
        o[at++] = 0x65;
      } else if (cell === CELL_FALSE) {
        o[at++] = LOWER_F;
        o[at++] = 0x61;
        o[at++] = 0x6c;
        o[at++] = 0x73;
        o[at++] = 0x65;
      } else if (cell === CELL_TIME) {
        at += o.write(new Date(this.times[column]).toISOString(), at, 'latin1');
      }
    }
    // `extras`: null, since every key was a column's.
    o[at++] = COMMA;
    if (this.keepRecord) {
      // `record`: JSON.stringify of the parsed record, which is the line itself for every record
      // taken here (compact, keys in order, strings without escapes, no numbers).
      o[at++] = COMMA;
      at = quotedText(b, start, end, o, at);
    }
    o[at++] = RETURN;
    o[at++] = NEWLINE;
    out.length = at;
    return true;
  }

  /**
   * The object at `i` (its `{`) along `node`: fills the cells of the columns it holds; returns the
   * offset after its `}`, or -1 when the walk is not sure of it.
   */
  private walk(node: KeyNode, i: number): number {
    const b = this.b;
    i++;
    if (b[i] === CLOSE_BRACE) return i + 1;
    let guess = node.first;
    let previous: KeyNode | undefined;
    for (;;) {
      if (b[i] !== QUOTE) return -1;
      // The key: the guessed one's bytes and then its closing quote, else each other key's.
      const children = node.children;
      let index = guess;
      let child: KeyNode | undefined = children[index];
      if (!keyAt(child.key, b, i + 1)) {
        child = undefined;
        for (index = 0; index < children.length; index++) {
          if (keyAt(children[index].key, b, i + 1)) {
            child = children[index];
            break;
          }
        }
        // A key no column takes (or written with an escape): it would go to extras.
        if (child === undefined) return -1;
      }
      if (this.seen[child.id] === this.stamp) return -1;
      this.seen[child.id] = this.stamp;
      if (previous === undefined) node.first = index;
      else previous.after = index;
      previous = child;
      guess = child.after;
      i += child.key.length + 2;
      if (b[i] !== COLON) return -1;
      i++;
      const first = b[i];
      if (child.column < 0) {
        // A key on the way to columns: an object (anything else would go to extras).
        if (first !== OPEN_BRACE) return -1;
        i = this.walk(child, i);
        if (i < 0) return -1;
      } else if (first === LOWER_N) {
        if (b[i + 1] !== 0x75 || b[i + 2] !== 0x6c || b[i + 3] !== 0x6c) return -1;
        i += 4;
      } else if (child.type === TYPE_BOOLEAN) {
        if (first === LOWER_T && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65) {
          this.cells[child.column] = CELL_TRUE;
          i += 4;
        } else if (first === LOWER_F && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65) {
          this.cells[child.column] = CELL_FALSE;
          i += 5;
        } else {
          return -1;
        }
      } else {
        if (first !== QUOTE) return -1;
        const from = i + 1;
        let to = from;
        let comma = 0;
        for (let kind = STRING_BYTE[b[to]]; kind !== 2; kind = STRING_BYTE[b[++to]]) comma |= kind;
        if (b[to] !== QUOTE) return -1;
        const column = child.column;
        this.starts[column] = from;
        this.ends[column] = to;
        if (child.type === TYPE_STRING) {
          this.cells[column] = comma === 0 ? CELL_TEXT : CELL_QUOTED;
        } else if (!this.timestamp(column, from, to)) {
          return -1;
        }
        i = to + 1;
      }
      const next = b[i];
      if (next === COMMA) {
        i++;
        continue;
      }
      return next === CLOSE_BRACE ? i + 1 : -1;
    }
  }

  /** The timestamp text at [from, to) (no escapes) into its cell, when `cellOf` takes it. */
  private timestamp(column: number, from: number, to: number): boolean {
    const b = this.b;
    // `cellOf` reads char codes, and refuses any text with a character that is not ASCII: latin1 is enough.
    const ms = cellOf(b.toString('latin1', from, to), 'timestamp');
    if (typeof ms !== 'number') return false;
    // Written the way toISOString writes it (`YYYY-MM-DDTHH:MM:SS.sssZ`, taken by cellOf, so years
    // 0001-9999): the cell is these bytes. Otherwise (an offset, no fraction, ...) the ms.
    const iso = to - from === 24 && b[from + 10] === UPPER_T && b[from + 19] === DOT && b[from + 23] === UPPER_Z;
    if (iso) {
      this.cells[column] = CELL_TEXT;
    } else {
      this.cells[column] = CELL_TIME;
      this.times[column] = ms;
    }
    return true;
  }
}

/** Whether the JSON string at `start` (after its opening quote) is `key`: its bytes, then the closing quote. */
function keyAt(key: Buffer, b: Buffer, start: number): boolean {
  const length = key.length;
  for (let k = 0; k < length; k++) if (b[start + k] !== key[k]) return false;
  return b[start + length] === QUOTE;
}

/** The bytes at [start, end) as one CSV field of JSON text (csv.ts field(): quoted when they hold `"`, `,`, CR or LF, inner quotes doubled). */
function quotedText(b: Buffer, start: number, end: number, o: Buffer, at: number): number {
  let quote = false;
  for (let i = start; i < end && !quote; i++) {
    const c = b[i];
    quote = c === QUOTE || c === COMMA || c === RETURN || c === NEWLINE;
  }
  if (!quote) return at + b.copy(o, at, start, end);
  o[at++] = QUOTE;
  for (let i = start; i < end; i++) {
    const c = b[i];
    o[at++] = c;
    if (c === QUOTE) o[at++] = QUOTE;
  }
  o[at++] = QUOTE;
  return at;
}

/** A growing byte buffer: the page's CSV rows. */
class OutBuffer {
  buffer: Buffer;
  length = 0;

  constructor(capacity: number) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  /** Room for `bytes` more. */
  reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  /** Append `text` as UTF-8. */
  text(text: string): void {
    this.reserve(Buffer.byteLength(text));
    this.length += this.buffer.write(text, this.length);
  }

  /** What was written. */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}
