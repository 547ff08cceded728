/**
 * A JSON array file read from a saved position, the array counterpart of `readJsonlFrom`: each
 * element comes out as a {@link PositionedText} that knows the byte offset just after it, the line
 * it ends on and how many elements came before, so a resumable run can commit "every input up to
 * here" with its outputs and, after a crash, open the file at that offset. Line numbers and
 * element indexes in errors count from the start of the file on every run.
 *
 * The same checks as `parseJsonArray` (which does the reading, with its `from` option).
 */
import { createReadStream } from 'node:fs';
import { parseJsonArray, type ArrayPosition } from './json-array.js';
import type { PositionedText } from './jsonl-positions.js';

/** Options of {@link readJsonArrayFrom}. */
export interface ReadJsonArrayFromOptions {
  /** Where to start (the `after` of an earlier element). Default the beginning. */
  from?: ArrayPosition;
  /** Read the array under this key of a top-level object (`'data'` for `{"data": [...]}`). Default none: the document is the array. */
  path?: string;
  /** With `path`: refuse (`'refuse'`) or skip (`'skip'`) an array under another key. Default `'skip'`. */
  otherArrays?: 'refuse' | 'skip';
  /** The file's name in errors. Default the path. */
  source?: string;
  /** Largest element, in bytes. Default 16 MiB. */
  maxElementBytes?: number;
  /** Accept only objects. Default false (the consumer checks its inputs). `null` is always refused. */
  objectsOnly?: boolean;
  /** Stops reading (the generator then throws the signal's reason). */
  signal?: AbortSignal;
}

/** The elements of the JSON array in `file` from `options.from` on. */
export async function* readJsonArrayFrom(file: string, options: ReadJsonArrayFromOptions = {}): AsyncGenerator<PositionedText> {
  const from = options.from ?? { line: 0, offset: 0, index: 0 };
  const parser = parseJsonArray({
    from,
    path: options.path,
    otherArrays: options.otherArrays,
    source: options.source ?? file,
    maxElementBytes: options.maxElementBytes,
    objectsOnly: options.objectsOnly ?? false,
  });
  const bytes = createReadStream(file, { start: from.offset, signal: options.signal });
  bytes.on('error', (error) => parser.destroy(error));
  bytes.pipe(parser);
  try {
    for await (const item of parser as AsyncIterable<PositionedText>) yield item;
  } finally {
    bytes.destroy();
    parser.destroy();
  }
}
