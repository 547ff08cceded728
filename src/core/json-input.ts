/**
 * Input that may be JSONL, one JSON array, or an object holding the array under one key
 * (`{"data": [...]}`, the SafetyKit add body and output shape): which one a byte stream holds is
 * decided, and the items are then parsed by `parseJsonl` or `parseJsonArray` with the same
 * checks either way.
 *
 * The rule, first that applies:
 * - a format said by the caller (`--input-format`);
 * - the file's extension: `.jsonl` and `.ndjson` are JSONL, `.json` is one JSON document (an
 *   array, or an object with the array under a key) — a `.jsonl` whose first record happens to
 *   start with `{"data":[` stays JSONL;
 * - the first bytes (stdin, other names): `[` is an array; `{` whose first key is `"data"` and
 *   whose value starts with `[` is the wrapper; anything else (including an empty input) is JSONL.
 */
import { createReadStream } from 'node:fs';
import { Readable, type Transform } from 'node:stream';
import { parseJsonArray } from './json-array.js';
import { parseJsonl, type ItemCheck } from './jsonl.js';

/** What a byte stream holds: JSONL, a JSON array, or an object with the array under a key (`data` unless said otherwise). */
export type JsonInputShape = 'jsonl' | 'array' | 'data-array';

/** A format said by the caller or implied by a file name: JSONL, or one JSON document. */
export type JsonInputFormat = 'json' | 'jsonl';

/** The format a file name implies: `.jsonl`/`.ndjson` → jsonl, `.json` → json, else undefined (decide from the bytes). */
export function formatOfName(name: string): JsonInputFormat | undefined {
  if (/\.(jsonl|ndjson)$/i.test(name)) return 'jsonl';
  if (/\.json$/i.test(name)) return 'json';
  return undefined;
}

/**
 * The shape to read, from the sniffed one and a format said by the caller or the file name
 * (undefined: the sniffed shape stands). A JSON document that is not an array is read as an
 * object holding the array under a key, wherever that key is in it.
 */
export function shapeFor(sniffed: JsonInputShape, format: JsonInputFormat | undefined): JsonInputShape {
  if (format === 'jsonl') return 'jsonl';
  if (format === 'json') return sniffed === 'array' ? 'array' : 'data-array';
  return sniffed;
}

/** The key of the `{"data": [...]}` shape. */
export const WRAPPER_KEY = 'data';
/** Bytes read, at most, before deciding (only leading whitespace can make it this long). */
const MAX_SNIFF_BYTES = 64 * 1024;

/** The stream's shape, and a stream of all its bytes again (the sniffed ones included). */
export interface SniffedInput {
  shape: JsonInputShape;
  bytes: Readable;
}

/** Read the first bytes of `source` to decide its shape. Reading errors (e.g. ENOENT) reject here. */
export async function sniffJsonInput(source: Readable): Promise<SniffedInput> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const head: Buffer[] = [];
  let shape: JsonInputShape | undefined;
  let size = 0;
  while (shape === undefined) {
    const next = await iterator.next();
    if (next.done) break;
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    head.push(chunk);
    size += chunk.length;
    shape = decideShape(Buffer.concat(head, size), size > MAX_SNIFF_BYTES);
  }
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      yield* head;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      }
    } finally {
      // Ends (destroys) the source when the consumer stops early.
      await iterator.return?.();
    }
  }
  return { shape: shape ?? 'jsonl', bytes: Readable.from(replay(), { objectMode: false, highWaterMark: 1 << 16 }) };
}

/** The shape of a document starting with `head`, or undefined when more bytes are needed. */
export function decideShape(head: Buffer, final = false): JsonInputShape | undefined {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  const skipSpace = () => {
    while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
    return i < head.length;
  };
  const undecided = () => (final ? 'jsonl' : undefined);
  if (!skipSpace()) return undecided();
  if (head[i] === 0x5b) return 'array';
  if (head[i] !== 0x7b) return 'jsonl';
  i++;
  if (!skipSpace()) return undecided();
  const key = `"${WRAPPER_KEY}"`;
  for (let k = 0; k < key.length; k++, i++) {
    if (i >= head.length) return undecided();
    if (head[i] !== key.charCodeAt(k)) return 'jsonl';
  }
  if (!skipSpace()) return undecided();
  if (head[i] !== 0x3a) return 'jsonl';
  i++;
  if (!skipSpace()) return undecided();
  return head[i] === 0x5b ? 'data-array' : 'jsonl';
}

/**
 * The shape of the file at `path` by the rule above: `jsonPath` (the key of the array in an
 * object) means `data-array`; else `format`, the extension, and the first bytes. Reading errors
 * (e.g. ENOENT) reject.
 */
export async function shapeOfFile(path: string, format?: JsonInputFormat, jsonPath?: string): Promise<JsonInputShape> {
  if (jsonPath !== undefined) return 'data-array';
  const said = format ?? formatOfName(path);
  if (said === 'jsonl') return 'jsonl';
  const { shape, bytes } = await sniffJsonInput(createReadStream(path));
  bytes.destroy();
  return shapeFor(shape, said);
}

/** Options of {@link parseJsonItems}. */
export interface ParseJsonItemsOptions {
  /** Name of the input in errors (a file name, `stdin`, a URL without its query). */
  source?: string;
  /** Largest line (JSONL) or element (JSON) accepted, in bytes. Default 16 MiB. */
  maxItemBytes?: number;
  /** Refuse items that are not objects. Default true. */
  objectsOnly?: boolean;
  /** Extra per-item check: returns why an item cannot be used, or undefined. */
  validate?: ItemCheck;
  /** Emit each item as a `JsonText` (its text as read and its value). Default false. */
  keepText?: boolean;
  /** For `data-array`: the key of the array to read. Default `data`. */
  path?: string;
  /** For `data-array`: `'refuse'` fails on an array under another key (the caller must say which one to read); `'skip'` skips it. Default `'skip'`. */
  otherArrays?: 'refuse' | 'skip';
}

/** Why a JSONL item is not an object (`an array is not an object`), or undefined when it is one. */
export function notAnObject(value: unknown): string | undefined {
  return typeof value !== 'object' || value === null || Array.isArray(value) ? `${Array.isArray(value) ? 'an array' : `a ${typeof value}`} is not an object` : undefined;
}

/** The parser (bytes in, items out) for `shape`, with the same checks for every shape. */
export function parseJsonItems(shape: JsonInputShape, options: ParseJsonItemsOptions = {}): Transform {
  const objectsOnly = options.objectsOnly ?? true;
  if (shape === 'jsonl') {
    const validate = options.validate;
    const check = objectsOnly
      ? (value: unknown, text: string) => notAnObject(value) ?? validate?.(value, text)
      : validate;
    return parseJsonl({ source: options.source, maxLineBytes: options.maxItemBytes, validate: check, keepText: options.keepText });
  }
  return parseJsonArray({
    source: options.source,
    maxElementBytes: options.maxItemBytes,
    objectsOnly,
    validate: options.validate,
    keepText: options.keepText,
    path: shape === 'data-array' ? (options.path ?? WRAPPER_KEY) : undefined,
    otherArrays: options.otherArrays,
  });
}
