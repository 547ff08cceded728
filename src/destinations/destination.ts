/**
 * The one interface an export hands its pages to. Contract (for every destination: jsonl, csv,
 * parquet, duckdb, postgres):
 *
 * - An export has K ≥ 1 partitions (K = 1: a single cursor). Each partition has its own
 *   {@link PartitionPosition}; the export id + partition index is its key. Databases keep the
 *   positions in a checkpoints table keyed by `(export_id, partition)` in the same database as the
 *   rows (issue 12 runs partitions on many machines against one PostgreSQL); files keep them in a
 *   state file beside the output.
 * - `open(request)` prepares the target (creates the file/table, checks an existing table's
 *   columns) and returns the saved positions of `request.exportId`. When nothing is saved yet it
 *   saves `request.initial` durably first (insert-if-absent: `ON CONFLICT DO NOTHING` for a
 *   database, so two workers racing on the same export agree) and returns what is saved, with
 *   `resumed: false`. It must not lose or change anything already written: a table that holds
 *   rows but no position of `exportId` is refused unless `request.append`.
 *   The export checks the returned positions against its options (count, bounds) itself.
 * - `write(partition, records, position)` makes the page's records and the partition's position
 *   after them durable TOGETHER: after a crash at any moment, a later `open` returns a position
 *   for which exactly the records before it are in the target (one transaction for a database;
 *   for a file, data fsynced before the state that counts it). `records` may be empty (the
 *   position still advances). A destination may buffer (e.g. Parquet row groups): it then saves
 *   the position of the last page it made durable, no later than at `close`; a crash re-fetches
 *   the rest. The export never calls `write` twice at once for the same partition, but may for
 *   different partitions (parallel cursors): serialize inside if the target needs it. The
 *   destination owns `records` and `position` once called (the caller passes copies).
 * - `close(complete)`: `complete` = every partition ended without error. Then finish (join part
 *   files, write a Parquet footer, …). With `complete` false just release resources and leave
 *   everything resumable. Called exactly once, also after a failed `open`/`write`.
 *
 * Rows: tabular destinations map each record with `ColumnMapping` from `./columns.ts` (the same
 * flattened, typed columns everywhere: `mapping.columns` gives names and types, `mapping.row(r)`
 * the values; timestamps are epoch ms UTC, json columns JSON text). Each destination file
 * exports a factory `(options, context: DestinationContext) => Destination` that does no I/O
 * (the work starts in `open`), e.g. `createCsvDestination({file})`,
 * `createDuckdbDestination({database, table})`, `createPostgresDestination({connectionString?,
 * table})`, and its Writable (`csvWriter()`, `duckdbWriter()`, …) for any object stream.
 * `./index.ts` picks the factory for `exportInferenceResults` (`file`+`format`, or `to`+`table`);
 * the export id is the table name unless the caller passes `exportId`.
 */
import type { JsonLines } from '../core/json-lines.js';
import type { ColumnMapping } from './columns.js';

/** Where one partition of an export stands; saved together with the records before it. */
export interface PartitionPosition {
  /** Start of the partition's time range, epoch ms (undefined: the beginning of the data). */
  startTime?: number;
  /** End of the range (exclusive), epoch ms (undefined: unbounded). */
  endTime?: number;
  /** Opaque cursor position after the last written record (undefined: start at `startTime`). */
  checkpoint?: string;
  /** Records written for this partition so far, all runs together. */
  records: number;
  /** Non-empty pages written so far. */
  pages: number;
  /** The partition's range is complete: nothing more to fetch. */
  done: boolean;
}

/** What `open` is told. */
export interface OpenRequest {
  /** Identifies the export (with the partition index, the key of each position). */
  exportId: string;
  /** The positions to save when nothing is saved for `exportId` yet: one per partition. */
  initial: readonly PartitionPosition[];
  /**
   * A table: when nothing is saved for `exportId` and the table already holds rows, add to them
   * (else `open` refuses with a ConfigError on `append`). Files ignore it. Default false.
   */
  append?: boolean;
}

/** What `open` returns. */
export interface OpenedExport {
  /** One position per partition, in partition order. */
  positions: PartitionPosition[];
  /** True when the positions were saved by an earlier run (or worker). */
  resumed: boolean;
}

/** What a destination reports when closed. */
export interface ClosedDestination {
  /** The files written (the output, or the part files), empty for a database. */
  files: string[];
  /** Their size in bytes (0 for a database). */
  bytes: number;
}

/** A place an export's pages land, exactly once (see the contract at the top of this file). */
export interface Destination {
  /** What it writes to, the `inference_streams.destination` attribute of the records and pages metrics. */
  readonly kind: DestinationKind;
  /** Human-readable target for messages, e.g. `csv file out.csv` or `postgres table results on db@host` (never a password). */
  readonly description: string;
  open(request: OpenRequest): Promise<OpenedExport>;
  write(partition: number, records: readonly object[], position: PartitionPosition): Promise<void>;
  /**
   * `write`, for a page whose records come as JSON lines (a JSONL destination): the lines are
   * written as they are, so the records never exist as objects. A destination that has it gets
   * every page this way from an export (`src/innerworks/export-partition.ts`).
   */
  writeLines?(partition: number, lines: JsonLines, position: PartitionPosition): Promise<void>;
  close(complete: boolean): Promise<ClosedDestination>;
}

/** The kinds of {@link Destination}. */
export type DestinationKind = 'jsonl' | 'csv' | 'parquet' | 'duckdb' | 'postgres';

/** What every destination factory is given besides its own options. */
export interface DestinationContext {
  /** The column mapping of tabular destinations (the Innerworks mapping for exports). */
  mapping: ColumnMapping;
  /**
   * The export's abort signal. No destination reads it yet: a connect or write under way runs to
   * its end (the export stops its requests and then calls `close(false)`).
   */
  signal?: AbortSignal;
}
