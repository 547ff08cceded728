/**
 * `predictInto()`: a JSONL file of inputs (or a JSON array, or `{"data": [...]}`) through a
 * Reinfer model into a destination (a JSONL, CSV or Parquet file, or a DuckDB or PostgreSQL
 * table), exactly once across crashes. Each page of predictions is handed to the destination with
 * the input position after it (line and byte offset; for an array also the element count), on
 * the same page loop and `Destination` contract as the export (`src/destinations/page-loop.ts`):
 * the destination makes both durable together. A rerun opens
 * the input at the saved byte offset, so committed inputs are never sent again; only the batches
 * in flight at the crash are. Predictions stay in input order, and a JSONL output is
 * byte-identical to a one-shot run.
 *
 * The saved position also records which file was read (size, mtime, a hash of its edges) and the
 * settings that decide the predictions; a rerun with another file or other settings is refused
 * with a `ConfigError` naming what changed, instead of mixing two runs in one output.
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { unlimitedController } from '../core/abort.js';
import { AbortError, ConfigError } from '../core/errors.js';
import { identityChange, isDescriptorPath, readFileIdentity, type FileIdentity } from '../core/file-identity.js';
import { checkJsonSkeleton } from '../core/json-array.js';
import { readJsonArrayFrom } from '../core/json-array-from.js';
import { shapeOfFile, WRAPPER_KEY, type JsonInputFormat, type JsonInputShape } from '../core/json-input.js';
import { readJsonlFrom, type LinePosition, type PositionedText } from '../core/jsonl-positions.js';
import type { LineRange } from '../core/line-ranges.js';
import { booleanOption, integerOption, stringOption } from '../core/options.js';
import { predictionMapping, type PredictionColumn } from '../destinations/columns.js';
import type { Destination, PartitionPosition } from '../destinations/destination.js';
import { formatOf, type ExportFormat } from '../destinations/file-format.js';
import { chooseDestination, type DestinationOptions } from '../destinations/index.js';
import { writePages, type PageSource, type SourcePage } from '../destinations/page-loop.js';
import { resolveConnection, resolveLabels, resolveThreshold, resolveVersion } from './options.js';
import { predictComments, predictDocuments, predictRawEmails, type PredictOptions } from './predict.js';
import { DEFAULT_BATCH_SIZE, type PredictStream, type ReinferStats } from './predict-stream.js';
import { failureError, predictionColumns, predictionRow } from './prediction-row.js';
import type { PredictionResult } from './types.js';
import { counted } from '../core/plural.js';

/** Options of {@link predictInto}. */
export interface PredictIntoOptions extends Omit<PredictOptions, 'ordered' | 'onError'>, Pick<DestinationOptions, 'file' | 'format' | 'to' | 'table' | 'exportId' | 'append' | 'stateFile' | 'rowsPerPart' | 'csvEscapeFormulas'> {
  /**
   * The inputs: a JSONL file (one input per line; blank lines skipped), a JSON array, or an object
   * holding the array under a key (`{"data": [...]}`). Required. A pipe or stdin cannot be
   * resumed: use the transforms.
   */
  input: string;
  /**
   * `'jsonl'` or `'json'` (an array, or an object holding it under `jsonPath`). Default: by the
   * extension (`.jsonl`/`.ndjson`, `.json`), else by the first bytes (`[` or `{"data": [`: JSON).
   * A resumed run must read the same shape.
   */
  inputFormat?: JsonInputFormat;
  /** Read the array under this key of the input's top-level object (implies JSON). Default `data` for an object, none for an array. */
  jsonPath?: string;
  /** Which endpoint: `'documents'` (`/predict`), `'rawEmails'` (`/predict-raw-emails`) or `'comments'` (`/predict-comments`, inputs are uids). Default `'documents'`. */
  mode?: 'documents' | 'rawEmails' | 'comments';
  /** `rawEmails`: how the platform parses the emails (required there). */
  transformTag?: string;
  /** `rawEmails`: add the parsed comment to each prediction (JSONL). Default false. */
  includeComments?: boolean;
  /** Write inputs that cannot be predicted as failures (`{input, index, error}`; in a table: null predictions, the error in `extras`) instead of stopping. Default false. */
  skipInvalid?: boolean;
  /**
   * Tables (CSV, Parquet, DuckDB, PostgreSQL): the columns, in order, from `id`, `top_label`,
   * `top_probability`, `labels`, `entities`, `sentiment`, `model_version`, `input`. Default every
   * one but `input` (see `keepInput`). A resumed run must have the same.
   */
  columns?: readonly PredictionColumn[];
  /** The input field written in the `id` column. Default `'id'` (comments: the uid). */
  idField?: string;
  /** Tables: add the `input` column (the input as JSON) to the default columns. Default false. */
  keepInput?: boolean;
  /** Called after each committed page with this run's counters. Default none. */
  onProgress?: (stats: PredictIntoStats) => void;
  /**
   * Split the input into partitions run apart (by the queue's workers, or by several calls): every
   * partition's byte range of the input, from `planLineRanges` (each starts at a line start). The
   * destination saves a position per range on first open; this call predicts only the range of
   * `partition` and stops at its end. Databases only (`to`). Line numbers in errors then count from
   * the range's start. Default none: the whole input is one partition.
   */
  ranges?: readonly LineRange[];
  /** With `ranges`: which range this call predicts, 0-based. Default 0. */
  partition?: number;
  /** Called after each committed page with the partition's position (totals over all runs), awaited. Default none. */
  onPage?: (position: Readonly<PartitionPosition>) => void | Promise<void>;
}

/** Counters of a run: the predict stream's, and the rows committed. */
export interface PredictIntoStats extends ReinferStats {
  /** Predictions (and failures) committed to the destination by this run. */
  records: number;
}

/** What a run wrote. Totals cover the whole output, earlier (resumed) runs included. */
export interface PredictIntoSummary {
  /** The files written, none for a database. */
  files: string[];
  /** Size of the file(s) in bytes (0 for a database). */
  bytes: number;
  /** The input's format: `jsonl`, or `json` (an array, or an object holding it). */
  inputFormat: JsonInputFormat;
  /** The output's format: jsonl, csv, parquet, duckdb or postgres. */
  format: ExportFormat | 'duckdb' | 'postgres';
  /** Rows written (predictions and failures), all runs. */
  records: number;
  /** Input lines read up to the last committed row, all runs (JSON array: the line the last committed element ends on). */
  lines: number;
  /** True when an earlier run's position was found and resumed. */
  resumed: boolean;
  /** This run's counters (`documents`: inputs sent to the model, resends after a crash included). */
  stats: PredictIntoStats;
}

/** The state saved with every page: the position, the file it belongs to and the settings. */
interface SavedInput {
  kind: 'predict';
  line: number;
  offset: number;
  /** With `ranges`: the partition's byte range (a resumed run must have the same plan). */
  start?: number;
  end?: number;
  /** JSON array input: elements read before `offset`. */
  index?: number;
  input: FileIdentity;
  settings: Record<string, unknown>;
}

/**
 * The byte offset in the input where the next uncommitted input starts, from a position that
 * `predictInto` reported (its `onPage`); undefined when the position holds none.
 */
export function savedByteOffset(position: Readonly<PartitionPosition>): number | undefined {
  if (position.checkpoint === undefined) return undefined;
  try {
    const offset = (JSON.parse(position.checkpoint) as Partial<SavedInput>).offset;
    return typeof offset === 'number' && Number.isSafeInteger(offset) ? offset : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Predict every input of `options.input` into the destination, exactly once: a rerun after a
 * crash (or after the end) continues after the last committed prediction.
 */
export async function predictInto(options: PredictIntoOptions): Promise<PredictIntoSummary> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  const path = stringOption('input', options.input, true)!;
  if (isDescriptorPath(path)) throw new ConfigError('input', 'must be a regular file: a pipe or stdin cannot be resumed (use predictDocuments() for a stream)', path);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new ConfigError('onProgress', 'must be a function', options.onProgress);
  const mode = options.mode ?? 'documents';
  if (!['documents', 'rawEmails', 'comments'].includes(mode)) throw new ConfigError('mode', 'must be documents, rawEmails or comments', mode);
  const idField = stringOption('idField', options.idField) ?? 'id';
  const inputFormat = options.inputFormat;
  if (inputFormat !== undefined && inputFormat !== 'json' && inputFormat !== 'jsonl') throw new ConfigError('inputFormat', 'must be "json" or "jsonl"', inputFormat);
  const jsonPath = stringOption('jsonPath', options.jsonPath);
  if (jsonPath === '') throw new ConfigError('jsonPath', 'must be a key, e.g. "data"', jsonPath);
  if (jsonPath !== undefined && inputFormat === 'jsonl') throw new ConfigError('jsonPath', 'reads a JSON document, but inputFormat is "jsonl"', jsonPath);
  const keepInput = booleanOption('keepInput', options.keepInput, false);
  const columns = predictionColumns(options.columns, keepInput).names;
  const mapping = predictionMapping(columns);
  const tabular = options.to !== undefined || (options.format ?? (typeof options.file === 'string' ? formatOf(options.file) : 'jsonl')) !== 'jsonl';
  if (!tabular && options.columns !== undefined) throw new ConfigError('columns', 'are for tables (CSV, Parquet, DuckDB, PostgreSQL); a JSONL output holds whole predictions', options.columns);
  if (!tabular && keepInput) throw new ConfigError('keepInput', 'is for tables; a JSONL output holds each input already', keepInput);
  if (typeof options.file === 'string' && resolve(options.file) === resolve(path)) throw new ConfigError('file', 'is the input file; write the predictions elsewhere', options.file);
  const ranges = rangesOf(options);
  const partition = ranges === undefined ? 0 : integerOption('partition', options.partition, 0, 0, ranges.length - 1);
  if (ranges !== undefined && options.to === undefined) throw new ConfigError('ranges', 'need a database (to): only a database keeps each partition\'s position with its rows, so partitions can run apart');
  const settings = settingsOf(options, mode, idField, tabular ? columns : undefined);
  const controller = unlimitedController();
  // Building a stream checks every predict option (connection, labels, batching) before any I/O.
  predictStream(options, mode, controller.signal, 0).destroy();
  const { destination, exportId, append } = chooseDestination({ ...options, keepRecord: undefined, split: undefined }, options.signal, mapping);
  const format: PredictIntoSummary['format'] = options.to === undefined ? (options.format ?? formatOf(options.file!)) : options.to.startsWith('duckdb:') ? 'duckdb' : 'postgres';
  let stream: PredictStream<unknown, PredictionResult<unknown>> | undefined;
  let stats: PredictIntoStats | undefined;
  const startedAt = Date.now();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let opened: { position: PartitionPosition; resumed: boolean } | undefined;
  let inputShape: JsonInputShape = 'jsonl';
  try {
    if (options.signal?.aborted) throw new AbortError('predictInto aborted before it started', { cause: options.signal.reason });
    const identity = await inputIdentity(path);
    const shape = await shapeOfFile(path, inputFormat, jsonPath);
    inputShape = shape;
    if (ranges !== undefined && shape !== 'jsonl') throw new ConfigError('ranges', 'are for a JSONL input: a JSON array cannot be cut into byte ranges', path);
    const key = shape === 'data-array' ? (jsonPath ?? WRAPPER_KEY) : undefined;
    // {"data": [...], "more": [...]}: which array was meant is unclear unless jsonPath says; refused before anything is sent.
    if (shape === 'data-array' && jsonPath === undefined) await checkJsonSkeleton(createReadStream(path), { path: WRAPPER_KEY, source: path });
    // Only a JSON input adds these, so that a JSONL run saved before they existed resumes as it was.
    if (shape !== 'jsonl') Object.assign(settings, { inputShape: shape, jsonPath: key ?? null });
    const first: SavedInput = { kind: 'predict', line: 0, offset: 0, ...(shape === 'jsonl' ? {} : { index: 0 }), input: identity, settings };
    const initial: SavedInput[] = ranges === undefined ? [first] : ranges.map((range) => ({ ...first, offset: range.start, start: range.start, end: range.end }));
    const { positions, resumed } = await destination.open({ exportId, initial: initial.map((saved) => ({ checkpoint: JSON.stringify(saved), records: 0, pages: 0, done: false })), append });
    const saved = savedInput(positions, destination, partition, initial.length);
    refuseChanges(saved, identity, settings, path, destination);
    if (saved.start !== initial[partition].start || saved.end !== initial[partition].end) {
      throw new ConfigError('ranges', `differ from the partitions saved in ${destination.description} (partition ${partition} was bytes ${saved.start ?? 0}..${saved.end ?? 'end'}); use the same plan, or another output`);
    }
    opened = { position: positions[partition], resumed };
    // Indexes (of failures, in error messages) count from the start of the input on every run.
    const predictions = predictStream(options, mode, controller.signal, opened.position.records);
    const counters = Object.assign(predictions.stats, { records: 0 });
    stream = predictions;
    stats = counters;
    if (!opened.position.done) {
      const encode = (at: LinePosition) => JSON.stringify({ ...saved, line: at.line, offset: at.offset, ...(at.index === undefined ? {} : { index: at.index }) });
      const reader = Readable.from(inputReader(path, shape, key, jsonPath === undefined, saved, partition, controller.signal));
      reader.on('error', (error) => predictions.destroy(error));
      reader.pipe(predictions);
      const toRecord = tabular
        ? (output: PredictionResult<unknown>) => predictionRow(output, columns, idField)
        : (output: PredictionResult<unknown>) => ('error' in output ? { input: output.input, index: output.index, error: failureError(output.error) } : output);
      const pages = new PredictionPages(predictions, options.batchSize ?? DEFAULT_BATCH_SIZE, toRecord, encode);
      await writePages({
        pages,
        destination,
        partition,
        position: opened.position,
        written: (count) => {
          counters.records += count;
          counters.elapsedMs = Date.now() - startedAt;
          options.onProgress?.(counters);
          return options.onPage?.({ ...opened!.position });
        },
      });
    }
  } catch (error) {
    stream?.destroy();
    controller.abort();
    await destination.close(false).catch(() => undefined);
    if (options.signal?.aborted && !(error instanceof AbortError)) throw new AbortError('predictInto aborted', { cause: error });
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  stream!.destroy();
  const closed = await destination.close(true);
  const position = opened!.position;
  stats!.elapsedMs = Date.now() - startedAt;
  return { files: closed.files, bytes: closed.bytes, format, inputFormat: inputShape === 'jsonl' ? 'jsonl' : 'json', records: position.records, lines: (JSON.parse(position.checkpoint!) as SavedInput).line, resumed: opened!.resumed, stats: stats! };
}

/** The inputs from the saved position on, read as `shape`. */
function inputReader(path: string, shape: JsonInputShape, key: string | undefined, refuseOtherArrays: boolean, saved: SavedInput, partition: number, signal: AbortSignal): AsyncGenerator<PositionedText> {
  if (shape === 'jsonl') {
    // A partition's line numbers count from its range's start: its source says where that is.
    const source = saved.start === undefined ? path : `${path} (partition ${partition}, from byte ${saved.start})`;
    return readJsonlFrom(path, { from: { line: saved.line, offset: saved.offset }, to: saved.end, source, signal });
  }
  return readJsonArrayFrom(path, { from: { line: saved.line, offset: saved.offset, index: saved.index ?? 0 }, path: key, otherArrays: refuseOtherArrays ? 'refuse' : 'skip', signal });
}

/** The stream of `mode`, in input order (positions are committed in that order). */
function predictStream(options: PredictIntoOptions, mode: string, signal: AbortSignal, firstIndex: number): PredictStream<unknown, PredictionResult<unknown>> {
  const common: PredictOptions = { ...options, ordered: true, onError: options.skipInvalid === true ? 'emit' : 'throw', signal, firstIndex };
  if (mode === 'rawEmails') return predictRawEmails({ ...common, transformTag: options.transformTag!, includeComments: options.includeComments }) as PredictStream<unknown, PredictionResult<unknown>>;
  if (mode === 'comments') return predictComments(common) as PredictStream<unknown, PredictionResult<unknown>>;
  return predictDocuments(common) as PredictStream<unknown, PredictionResult<unknown>>;
}

/** What decides the predictions and the rows: a resumed run must have the same. */
function settingsOf(options: PredictIntoOptions, mode: string, idField: string, columns: readonly PredictionColumn[] | undefined): Record<string, unknown> {
  const connection = resolveConnection(options, resolveVersion(options.version));
  const settings: Record<string, unknown> = {
    endpoint: connection.baseUrl,
    project: connection.project,
    dataset: connection.dataset,
    version: connection.version,
    mode,
    threshold: resolveThreshold(options.threshold) ?? null,
    labels: resolveLabels(options.labels) ?? null,
  };
  if (mode === 'rawEmails') Object.assign(settings, { transformTag: options.transformTag ?? null, includeComments: options.includeComments === true });
  if (columns) Object.assign(settings, { columns: columns.join(','), idField });
  return settings;
}

async function inputIdentity(path: string): Promise<FileIdentity> {
  const { isFile, ...identity } = await readFileIdentity(path);
  if (!isFile) throw new ConfigError('input', 'must be a regular file: a pipe or device cannot be resumed (use predictDocuments() for a stream)', path);
  return identity;
}

/** `options.ranges`, checked: non-empty, each a [start, end) that follows the one before. */
function rangesOf(options: PredictIntoOptions): readonly LineRange[] | undefined {
  const ranges = options.ranges;
  if (ranges === undefined) {
    if (options.partition !== undefined) throw new ConfigError('partition', 'goes with ranges');
    return undefined;
  }
  const valid = Array.isArray(ranges) && ranges.length > 0 && ranges.length <= 4096 && ranges.every((r: LineRange, i) => typeof r === 'object' && r !== null && Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end) && r.start >= 0 && r.end >= r.start && (i === 0 ? r.start === 0 : r.start === ranges[i - 1].end));
  if (!valid) throw new ConfigError('ranges', 'must be 1..4096 consecutive {start, end} byte ranges from 0 (see planLineRanges)');
  return ranges;
}

function savedInput(positions: readonly PartitionPosition[], destination: Destination, partition: number, count: number): SavedInput {
  const position = positions[Math.min(partition, positions.length - 1)];
  let saved: Partial<SavedInput> | undefined;
  try {
    saved = position?.checkpoint !== undefined ? (JSON.parse(position.checkpoint) as Partial<SavedInput>) : undefined;
  } catch {
    saved = undefined;
  }
  if (saved?.kind !== 'predict' || !Number.isSafeInteger(saved.line) || !Number.isSafeInteger(saved.offset) || (saved.index !== undefined && !Number.isSafeInteger(saved.index)) || typeof saved.input !== 'object' || typeof saved.settings !== 'object') {
    throw new ConfigError('file', `${destination.description} holds the state of another kind of run (an export?), not of predictions; choose another output or start over`);
  }
  if (positions.length !== count) throw new ConfigError('ranges', `${destination.description} holds ${counted(positions.length, 'partition')} of predictions, not ${count}; use the same plan, or another output`);
  return saved as SavedInput;
}

/** Refuse to resume with another input file or other settings, naming what changed. */
function refuseChanges(saved: SavedInput, identity: FileIdentity, settings: Record<string, unknown>, path: string, destination: Destination): void {
  const change = identityChange(saved.input, identity);
  if (change !== undefined) {
    throw new ConfigError('input', `is not the file the predictions in ${destination.description} were made from (${change}); pass the same file, or another output (or delete its state) to start over`, path);
  }
  for (const name of new Set([...Object.keys(saved.settings), ...Object.keys(settings)])) {
    const was = JSON.stringify(saved.settings[name] ?? null);
    const now = JSON.stringify(settings[name] ?? null);
    if (was !== now) throw new ConfigError(name, `differs from the run being resumed in ${destination.description} (was ${was}); pass the same, or another output (or delete its state) to start over`, settings[name]);
  }
}

/**
 * Pages of committed-order predictions: up to `pageSize` outputs, with the position after the
 * last one's input line; then one page without a checkpoint (the input is complete).
 */
class PredictionPages implements PageSource {
  private readonly outputs: AsyncIterator<PredictionResult<unknown>>;
  private ended = false;
  private finished = false;

  constructor(
    private readonly stream: PredictStream<unknown, PredictionResult<unknown>>,
    private readonly pageSize: number,
    private readonly toRecord: (output: PredictionResult<unknown>) => object,
    private readonly encode: (at: LinePosition) => string,
  ) {
    this.outputs = (this.stream as AsyncIterable<PredictionResult<unknown>>)[Symbol.asyncIterator]();
  }

  async next(): Promise<SourcePage | undefined> {
    if (this.finished) return undefined;
    const records: object[] = [];
    let last: LinePosition | undefined;
    while (!this.ended && records.length < this.pageSize) {
      const next = await this.outputs.next();
      if (next.done) {
        // A destroyed stream also ends its iterator: only a stream that ended is the input's end.
        if (!this.stream.readableEnded) throw this.stream.errored ?? new AbortError('the predict stream stopped before the end of the input');
        this.ended = true;
        break;
      }
      last = (next.value.input as PositionedText).after;
      records.push(this.toRecord(next.value));
    }
    if (last !== undefined) return { records, checkpoint: this.encode(last) };
    this.finished = true;
    return { records, checkpoint: undefined };
  }
}
