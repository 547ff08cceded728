/**
 * The Writable behind `duckdbWriter()` and `postgresWriter()`: any object stream into a table.
 * Objects are mapped to rows (columns.ts, from the `columns` option or the first object) and
 * written `batchSize` at a time, each batch in one transaction; a write waits while its batch
 * is being written, which is the backpressure a piped source feels.
 */
import { Writable } from 'node:stream';
import { streamSignal } from '../core/abort.js';
import { ConfigError } from '../core/errors.js';
import { booleanOption, integerOption } from '../core/options.js';
import { objectMapping, type CellValue, type ColumnMapping, type ColumnSpec } from './columns.js';

/** Options every database Writable takes. */
export interface TableWriterOptions {
  /**
   * The columns: names (a top-level field each) or `{name, path, type}` (a dotted path into the
   * object and one of `string`, `boolean`, `timestamp`, `integer`, `double`, `json`). Fields no
   * column takes, and values a column cannot hold exactly (text with NUL or a lone surrogate, a
   * timestamp that is not a `Date` or an RFC 3339 string with a zone, …), go into the `extras`
   * JSON column. Default: the top-level fields of the first object, typed from its values.
   */
  columns?: readonly (string | ColumnSpec)[];
  /** Also keep each whole object as JSON in a `record` column. Default false. */
  keepRecord?: boolean;
  /** Objects per transaction (1..100 000). Default 5000. */
  batchSize?: number;
  /** Aborting destroys the stream with an AbortError; a batch not yet committed is rolled back. */
  signal?: AbortSignal;
}

/** Counters of a database Writable (`stream.stats`, and each `'progress'` event). */
export interface TableWriterStats {
  /** Objects committed to the table. */
  records: number;
  /** Transactions committed. */
  batches: number;
  /** Milliseconds since the first object arrived. */
  elapsedMs: number;
}

/** What a database Writable needs from its driver file. */
export interface TableSink {
  /** Connect and create the table (or check an existing one's columns) for `mapping`. */
  open(mapping: ColumnMapping): Promise<void>;
  /** Write `rows` in one transaction. */
  write(rows: CellValue[][]): Promise<void>;
  /** Release the connection; `ok` false: after a failure or destroy. */
  close(ok: boolean): Promise<void>;
}

export interface ResolvedTableWriter {
  columns: readonly (string | ColumnSpec)[] | undefined;
  keepRecord: boolean;
  batchSize: number;
}

/** Validate the shared options (ConfigError naming the option). */
export function resolveTableWriter(options: TableWriterOptions): ResolvedTableWriter {
  if (options.columns !== undefined && !Array.isArray(options.columns)) throw new ConfigError('columns', 'must be an array of column names or {name, path, type}', options.columns);
  if (options.columns?.length === 0) throw new ConfigError('columns', 'must name at least one column');
  return {
    columns: options.columns,
    keepRecord: booleanOption('keepRecord', options.keepRecord, false),
    batchSize: integerOption('batchSize', options.batchSize, 5000, 1, 100_000),
  };
}

/** A Writable of objects into one table through `sink`. */
export class TableWriter extends Writable {
  /** Counters so far. */
  readonly stats: TableWriterStats = { records: 0, batches: 0, elapsedMs: 0 };
  readonly #sink: TableSink;
  readonly #options: ResolvedTableWriter;
  #mapping: ColumnMapping | undefined;
  #opened: Promise<void> | undefined;
  #batch: object[] = [];
  #startedAt = 0;

  constructor(sink: TableSink, options: ResolvedTableWriter, signal: AbortSignal | undefined, name: string) {
    super({ objectMode: true, highWaterMark: 16 });
    this.#sink = sink;
    this.#options = options;
    streamSignal(this, new AbortController(), signal, name);
  }

  override _write(chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (typeof chunk !== 'object' || chunk === null || Array.isArray(chunk)) {
      callback(new TypeError(`expected an object per write, got ${Array.isArray(chunk) ? 'an array' : typeof chunk}`));
      return;
    }
    if (this.#startedAt === 0) this.#startedAt = Date.now();
    this.#mapping ??= objectMapping(this.#options.columns, chunk, { keepRecord: this.#options.keepRecord });
    this.#batch.push(chunk);
    if (this.#batch.length < this.#options.batchSize) {
      callback();
      return;
    }
    this.#flush().then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // No object came: with `columns` the table can still be made (an empty stream is an empty table).
    if (!this.#mapping && this.#options.columns !== undefined) this.#mapping = objectMapping(this.#options.columns, {}, { keepRecord: this.#options.keepRecord });
    this.#flush()
      .then(() => this.#sink.close(true))
      .then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // After _final the sink is closed already; closing twice is harmless (sinks make it idempotent).
    this.#sink.close(false).then(
      () => callback(error),
      () => callback(error),
    );
  }

  async #flush(): Promise<void> {
    if (this.#batch.length === 0) {
      // Nothing written at all: with `columns` (mapped in _final) still connect and create the
      // table, so an empty stream is an empty table; without them there is nothing to make one of.
      if (this.#mapping) await this.#open();
      return;
    }
    await this.#open();
    const batch = this.#batch;
    this.#batch = [];
    const mapping = this.#mapping!;
    await this.#sink.write(batch.map((record) => mapping.row(record)));
    this.stats.records += batch.length;
    this.stats.batches++;
    this.stats.elapsedMs = Date.now() - this.#startedAt;
    this.emit('progress', { ...this.stats });
  }

  #open(): Promise<void> {
    this.#opened ??= this.#sink.open(this.#mapping!);
    return this.#opened;
  }
}
