// Where exports land: one file per destination (see destination.ts for the contract), and the
// choice of one from `exportInferenceResults`' options.
import { ConfigError } from '../core/errors.js';
import { booleanOption, integerOption, stringOption } from '../core/options.js';
import { innerworksMapping, type ColumnMapping } from './columns.js';
import { createCsvDestination } from './csv.js';
import type { Destination } from './destination.js';
import { createDuckdbDestination } from './duckdb.js';
import { formatOf, refuseUnwrittenExtension, type ExportFormat } from './file-format.js';
import { createJsonlDestination } from './jsonl.js';
import { createParquetDestination } from './parquet.js';
import { withoutPassword } from './pg-url.js';
import { createPostgresDestination } from './postgres.js';

export { csvWriter, type CsvWriterOptions } from './csv.js';
export { parquetWriter, type ParquetWriterOptions } from './parquet.js';
export { duckdbWriter, type DuckdbWriterOptions } from './duckdb.js';
export { postgresWriter, type PostgresWriterOptions } from './postgres.js';
export type { ColumnSpec, ColumnType, MappingOptions } from './columns.js';
export { formatOf, type ExportFormat } from './file-format.js';

/** The options of `exportInferenceResults` that say where the records land. */
export interface DestinationOptions {
  /**
   * The output file: `x.jsonl`, `x.csv`, `x.parquet`, or `DIR/` for a Parquet dataset directory.
   * Required unless `to` is given.
   */
  file?: string;
  /**
   * The file format. Default: from `file`'s extension (`.csv`, `.parquet`, a trailing `/` is
   * Parquet), else `jsonl`; an extension of a format not written as a file (`.duckdb`, `.db`,
   * `.sqlite`, `.tsv`, `.xlsx`, `.gz`, …) is refused unless `format` is given. A resumed export
   * must have the format it was started with (saved in its state file).
   */
  format?: ExportFormat;
  /** A database instead of a file: `postgres://USER@HOST:PORT/DB` (libpq conventions) or `duckdb:PATH`. Needs `table`. Default none. */
  to?: string;
  /** The table of `to` (created when missing). */
  table?: string;
  /** Key of this export's positions in a database's checkpoints table (with the partition). Default: the table name. */
  exportId?: string;
  /**
   * Databases: add this export's rows to a table that already holds rows but has no saved
   * position for `exportId` (rows of another export, or loaded by other means). Default false:
   * such a table is refused (ConfigError naming the table and the export id) rather than mixed into.
   */
  append?: boolean;
  /** Where a file export saves its resume state. Default `file + '.state.json'` (a Parquet directory: `DIR/.state.json`). */
  stateFile?: string;
  /** With `partitions` > 1 (JSONL, CSV): keep the K part files (`file.part-1-of-K` …) instead of joining them into `file`. Default false. */
  split?: boolean;
  /** CSV, Parquet and databases: also keep each whole record as JSON text in a `record` column. Default false (the columns and `extras` already hold every field). */
  keepRecord?: boolean;
  /** Parquet: rows per part file (a part is durable, and counted, once complete). Default 100 000. */
  rowsPerPart?: number;
  /**
   * CSV: prefix text cells that start with `=`, `+`, `-`, `@`, a tab or a carriage return with
   * `'`, so a spreadsheet does not run them as formulas. Default false: cells hold the values
   * exactly as received.
   */
  csvEscapeFormulas?: boolean;
}

/** The destination the options name, the export id its positions are saved under, and whether it may append to a table of other rows. */
export function chooseDestination(options: DestinationOptions, signal?: AbortSignal, rows?: ColumnMapping): { destination: Destination; exportId: string; append: boolean } {
  const file = stringOption('file', options.file);
  const to = stringOption('to', options.to);
  const table = stringOption('table', options.table);
  const exportId = stringOption('exportId', options.exportId);
  const split = booleanOption('split', options.split, false);
  const keepRecord = booleanOption('keepRecord', options.keepRecord, false);
  const append = booleanOption('append', options.append, false);
  const rowsPerPart = integerOption('rowsPerPart', options.rowsPerPart, 100_000, 1, 100_000_000);
  const stateFile = stringOption('stateFile', options.stateFile);
  const escapeFormulas = booleanOption('csvEscapeFormulas', options.csvEscapeFormulas, false);
  // `rows`: another kind of record than an Innerworks result (predictions), mapped by the caller's columns.
  const context = { mapping: rows ?? innerworksMapping({ keepRecord }), signal };
  if (to !== undefined) {
    if (file !== undefined) throw new ConfigError('to', 'cannot be combined with file (one destination per export)', to);
    if (options.format !== undefined) throw new ConfigError('format', 'is for files; a database is chosen by to', options.format);
    if (table === undefined) throw new ConfigError('table', `is required with to (${to.startsWith('duckdb:') ? 'duckdb' : 'postgres'})`);
    if (split) throw new ConfigError('split', 'is for JSONL and CSV files only');
    if (escapeFormulas) throw new ConfigError('csvEscapeFormulas', 'is for CSV files, not databases', escapeFormulas);
    if (to.startsWith('duckdb:')) {
      const database = to.slice('duckdb:'.length);
      if (database === '') throw new ConfigError('to', 'must be duckdb:PATH (a database file)', to);
      return { destination: createDuckdbDestination({ database, table }, context), exportId: exportId ?? table, append };
    }
    if (/^postgres(ql)?:\/\//.test(to)) return { destination: createPostgresDestination({ connectionString: to, table }, context), exportId: exportId ?? table, append };
    throw new ConfigError('to', 'must be postgres://USER@HOST:PORT/DB or duckdb:PATH', withoutPassword(to));
  }
  if (file === undefined) throw new ConfigError('file', 'is required (or to, for a database)');
  if (table !== undefined) throw new ConfigError('table', 'is for databases (to); a file has no table', table);
  if (append) throw new ConfigError('append', 'is for database tables (to); a file export resumes from its state file or starts the file over', append);
  if (options.format === undefined) refuseUnwrittenExtension(file);
  const format = options.format ?? formatOf(file);
  if (!['jsonl', 'csv', 'parquet'].includes(format)) throw new ConfigError('format', 'must be jsonl, csv or parquet', format);
  if (format === 'parquet' && split) throw new ConfigError('split', 'is for JSONL and CSV; a Parquet export to DIR/ keeps its parts', split);
  if (format !== 'parquet' && /[/\\]$/.test(file)) throw new ConfigError('file', `must be a file for ${format} (a trailing / means a Parquet dataset directory)`, file);
  if (format === 'jsonl' && keepRecord) throw new ConfigError('keepRecord', 'is for tabular destinations; JSONL is the whole record already', keepRecord);
  if (escapeFormulas && format !== 'csv') throw new ConfigError('csvEscapeFormulas', `is for CSV files, not ${format}`, escapeFormulas);
  const id = exportId ?? 'file';
  if (format === 'csv') return { destination: createCsvDestination({ file, stateFile, split, escapeFormulas }, context), exportId: id, append };
  if (format === 'parquet') return { destination: createParquetDestination({ file, stateFile, rowsPerPart }, context), exportId: id, append };
  return { destination: createJsonlDestination({ file, stateFile, split }), exportId: id, append };
}
