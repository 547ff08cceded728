/**
 * Opening a command's `--in FILE|-` input: JSONL, one JSON array, or `{"data": [...]}` (or the
 * array under `--json-path KEY`), decided by `--input-format json|jsonl`, else by the file's
 * extension, else from the first bytes (core/json-input.ts), and parsed one item at a time with
 * the same checks for every format. Errors name the item's place: `file:LINE` for JSONL,
 * `file:LINE element [INDEX]` for JSON.
 */
import { createReadStream } from 'node:fs';
import { pipeline, type Readable } from 'node:stream';
import { checkJsonSkeleton } from '../core/json-array.js';
import { formatOfName, parseJsonItems, shapeFor, sniffJsonInput, type JsonInputShape } from '../core/json-input.js';
import type { ItemCheck } from '../core/jsonl.js';
import { UsageError, type OptionSpec } from './command.js';

/** Values of `--input-format`. */
export type InputFormat = 'json' | 'jsonl';

/** The `--input-format` flag, for a command's `options`. */
export const INPUT_FORMAT_OPTION: OptionSpec = { 'input-format': { type: 'string' } };

/** The `--json-path` flag (commands that read `--in` with {@link openCliInput}). */
export const JSON_PATH_OPTION: OptionSpec = { 'json-path': { type: 'string' } };

/**
 * Its lines in a command's `--help`, with descriptions starting at `column` like the other
 * options there; `withJsonPath` adds `--json-path` (commands that declare {@link JSON_PATH_OPTION}).
 */
export function inputFormatHelp(column: number, withJsonPath = false): string {
  const indent = ' '.repeat(column);
  const format = `${'  --input-format F'.padEnd(column)}json or jsonl (default: by extension, .jsonl/.ndjson or .json;
${indent}else json when the input starts with "[" or {"data": [); a JSON array
${indent}is read one element at a time`;
  if (!withJsonPath) return format;
  return `${format}
${'  --json-path KEY'.padEnd(column)}read the array under KEY of a JSON object (default data; an object
${indent}with arrays under other keys too is refused unless KEY is given)`;
}

/** Options of {@link openCliInput}. */
export interface CliInputOptions {
  /** The `--in` value: a file path, or `-` for stdin. */
  path: string;
  /** The command's stdin (`io.stdin`). */
  stdin: Readable;
  /** The `--input-format` value as parsed (checked here); undefined decides from the first bytes. */
  format?: unknown;
  /** Refuse items that are not JSON objects. Default true (`null` is refused either way). */
  objectsOnly?: boolean;
  /** Extra per-item check: returns why an item cannot be used, or undefined; the error names the item's line/element. */
  validate?: ItemCheck;
  /** The `--json-path` value as parsed (checked here): the key of the array in a JSON object. */
  jsonPath?: unknown;
  /** Largest item (JSONL line or JSON element), in bytes. Default 16 MiB. */
  maxItemBytes?: number;
  /** Emit each item as a `JsonText` (its text as read and its value), to forward it unchanged. Default false. */
  keepText?: boolean;
}

/** An opened input. */
export interface CliInput {
  /** The parsed items (objectMode). Fails with a `JsonlError` (a `JsonArrayError` for JSON) naming the bad item's place. */
  items: Readable;
  /** The format used. */
  format: InputFormat;
  /** What the input was found to hold (`data-array` is `{"data": [...]}`). */
  shape: JsonInputShape;
  /** The input's name in errors: the path, or `stdin`. */
  source: string;
  /** How errors name an item's place, e.g. for a hint: `line N` or `element [INDEX] (0-based) and its line`. */
  positions: string;
}

/** Check an `--input-format` value. */
export function parseInputFormat(value: unknown): InputFormat | undefined {
  if (value === undefined) return undefined;
  if (value === 'json' || value === 'jsonl') return value;
  throw new UsageError(`--input-format must be json or jsonl (got ${JSON.stringify(value)})`);
}

/**
 * Check a `--json-path` value against the format said (`--input-format`, else `--in`'s
 * extension): the key, or undefined without the flag.
 */
export function parseJsonPath(jsonPath: unknown, path: string, forced: InputFormat | undefined): string | undefined {
  if (jsonPath === undefined) return undefined;
  if (typeof jsonPath !== 'string' || jsonPath === '') throw new UsageError('--json-path must be a key, e.g. --json-path data');
  const stdin = path === '-';
  const said = forced ?? (stdin ? undefined : formatOfName(path));
  if (said === 'jsonl') throw new UsageError(`--json-path reads a JSON document, but ${stdin ? 'stdin' : path} is read as JSONL (${forced ? '--input-format jsonl' : 'by its extension'})`);
  return jsonPath;
}

/**
 * Open `--in` and start parsing it. Resolves once the format is known, so a missing file or a
 * bad `--input-format` fails here, before the command sends anything.
 */
export async function openCliInput(options: CliInputOptions): Promise<CliInput> {
  const forced = parseInputFormat(options.format);
  const jsonPath = parseJsonPath(options.jsonPath, options.path, forced);
  const stdin = options.path === '-';
  const source = stdin ? 'stdin' : options.path;
  const said = forced ?? (stdin ? undefined : formatOfName(options.path));
  // Node's default 64 KiB reads: 1 MiB reads raised an ingest's peak RSS by ~60 MB at the same
  // speed (benchmarks/json-array), more parsed items being in flight at once.
  const raw = stdin ? options.stdin : createReadStream(options.path);
  const { shape: found, bytes } = await sniffJsonInput(raw);
  // --json-path says the input is an object holding the array (an array input is then refused).
  const shape: JsonInputShape = jsonPath !== undefined ? 'data-array' : shapeFor(found, said);
  // A file can be read twice: an object with arrays under two keys is refused before any element is used.
  if (shape === 'data-array' && jsonPath === undefined && !stdin) {
    try {
      await checkJsonSkeleton(createReadStream(options.path), { path: 'data', source });
    } catch (error) {
      bytes.destroy();
      throw error;
    }
  }
  const parser = parseJsonItems(shape, {
    source,
    maxItemBytes: options.maxItemBytes,
    objectsOnly: options.objectsOnly,
    validate: options.validate,
    keepText: options.keepText,
    path: jsonPath,
    // {"data": [...], "more": [...]}: which array was meant is unclear unless --json-path says.
    otherArrays: jsonPath === undefined ? 'refuse' : 'skip',
  });
  const items = pipeline(bytes, parser, () => undefined);
  const format: InputFormat = shape === 'jsonl' ? 'jsonl' : 'json';
  return { items, format, shape, source, positions: format === 'jsonl' ? `line numbers of ${source}` : `element indexes (0-based) and line numbers of ${source}` };
}
