/**
 * Input that may be JSONL, one JSON array, or `{"data": [...]}` (the SafetyKit add body and
 * output shape): which one a byte stream holds is decided from its first bytes, and the items
 * are then parsed by `parseJsonl` or `parseJsonArray` with the same checks either way.
 *
 * The rule (a JSONL file also starts with `{`, so the first byte alone cannot tell):
 * - first non-space byte `[`: a JSON array;
 * - `{` whose first key is `"data"` and whose value starts with `[`: the `{"data": [...]}` shape;
 * - anything else (including an empty input): JSONL, one value per line.
 * A JSONL record whose first key is "data" holding an array would be misread, so callers whose
 * records may look like that pass the format explicitly.
 */
import { Readable, type Transform } from 'node:stream';
import { parseJsonArray } from './json-array.js';
import { parseJsonl } from './jsonl.js';

/** What a byte stream was found to hold. */
export type JsonInputShape = 'jsonl' | 'array' | 'data-array';

/** The key of the `{"data": [...]}` shape. */
const WRAPPER_KEY = 'data';
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

/** Options of {@link parseJsonItems}. */
export interface ParseJsonItemsOptions {
  /** Name of the input in errors (a file name, `stdin`, a URL without its query). */
  source?: string;
  /** Largest line (JSONL) or element (JSON) accepted, in bytes. Default 16 MiB. */
  maxItemBytes?: number;
  /** Refuse items that are not objects. Default true. */
  objectsOnly?: boolean;
  /** Extra per-item check: returns why an item cannot be used, or undefined. */
  validate?: (value: unknown) => string | undefined;
  /** Emit each item as a `JsonText` (its text as read and its value). Default false. */
  keepText?: boolean;
}

/** The parser (bytes in, items out) for `shape`, with the same checks for every shape. */
export function parseJsonItems(shape: JsonInputShape, options: ParseJsonItemsOptions = {}): Transform {
  const objectsOnly = options.objectsOnly ?? true;
  if (shape === 'jsonl') {
    const validate = options.validate;
    const check = objectsOnly
      ? (value: unknown) => (typeof value !== 'object' || value === null || Array.isArray(value) ? `${Array.isArray(value) ? 'an array' : `a ${typeof value}`} is not an object` : validate?.(value))
      : validate;
    return parseJsonl({ source: options.source, maxLineBytes: options.maxItemBytes, validate: check, keepText: options.keepText });
  }
  return parseJsonArray({
    source: options.source,
    maxElementBytes: options.maxItemBytes,
    objectsOnly,
    validate: options.validate,
    keepText: options.keepText,
    path: shape === 'data-array' ? WRAPPER_KEY : undefined,
  });
}
