/**
 * DuckDB destination: each page's rows are inserted and the partition's position is upserted
 * into a checkpoints table of the same database file, in ONE transaction (checkpointed-table.ts,
 * shared with PostgreSQL). No state file: a resume reads the positions from the database. DuckDB
 * runs in a host process the export starts (duckdb-host.ts) and a database file has one writing
 * process at a time (DuckDB locks it), so this destination is for one machine; PostgreSQL is the
 * one to share.
 *
 * `@duckdb/node-api` is an optional peer dependency, loaded by the host process only.
 */
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { diskFull } from './appending-file.js';
import { csvLineRows, csvRows } from './csv.js';
import type { CsvLineRows } from './csv-lines.js';
import type { JsonLines } from '../core/json-lines.js';
import { DuckdbHost } from './duckdb-host.js';
import { stagedCsvSource } from './staged-csv.js';
import type { CellValue, ColumnMapping, ColumnType } from './columns.js';
import { CheckpointedTableDestination, type SqlTable, type SqlValue } from './checkpointed-table.js';
import { DatabaseError, columnDifferences, parseTableName, qualified, quoteIdentifier, type TableName } from './database-error.js';
import { TableWriter, resolveTableWriter, type TableSink, type TableWriterOptions } from './db-writer.js';
import type { Destination, DestinationContext } from './destination.js';

/** Where a DuckDB destination writes. */
export interface DuckdbTargetOptions {
  /** The database file (created when missing), or `:memory:`. Required. */
  database: string;
  /** Target table, `name` or `schema.name` (letters, digits, `_`); created when missing. Required. */
  table: string;
}

/** Options of {@link createDuckdbDestination}. */
export type DuckdbDestinationOptions = DuckdbTargetOptions;

/**
 * DuckDB's memory limit for a database file. Its default (80 % of RAM) lets its buffer pool keep
 * the table's blocks cached: a 1,000,000-record export peaked at 337 MB RSS with DuckDB in the
 * exporting process, 284 MB with 32 MB. Blocks past the limit are evicted to the file, which
 * already holds them after each checkpoint. DuckDB now runs in a host process of its own
 * (duckdb-host.ts); the limit keeps that process small too.
 */
const FILE_MEMORY_LIMIT = '32MB';

/** DuckDB's type for each column type, as CREATE TABLE takes it and information_schema shows it. */
const DUCKDB_TYPES: Record<ColumnType, readonly [ddl: string, shown: string]> = {
  string: ['VARCHAR', 'VARCHAR'],
  boolean: ['BOOLEAN', 'BOOLEAN'],
  timestamp: ['TIMESTAMPTZ', 'TIMESTAMP WITH TIME ZONE'],
  integer: ['BIGINT', 'BIGINT'],
  double: ['DOUBLE', 'DOUBLE'],
  // JSON text as VARCHAR: DuckDB's JSON type refuses a lone surrogate's `\u` escape, which
  // extras must keep (columns.ts); json_extract() and `::JSON` still read the text.
  json: ['VARCHAR', 'VARCHAR'],
};

/**
 * One database file, one connection, one table, in a DuckDB host process (duckdb-host.ts).
 * Shared by the export destination and the Writable.
 *
 * A page goes in as the CSV rows the Parquet destination stages (csvRows(), RFC 4180): written
 * to a stage file beside the database, then `INSERT … SELECT * FROM read_csv(stage)` in the open
 * transaction, so DuckDB's own CSV reader parses and converts the values in the host. Measured
 * against the appender it replaces (a call into DuckDB per string value, in the exporting
 * process): see the commit and benchmarks/destinations-databases.
 */
/** A page's rows as the staged CSV the host reads: text (from records) or bytes (from JSON lines). */
type StagedRows = string | Buffer;

class DuckdbTable implements SqlTable<StagedRows> {
  #lineRows: CsvLineRows | undefined;
  readonly target: string;
  readonly table: TableName;
  readonly file: string | undefined;
  readonly #path: string;
  /** Where a page's CSV rows are staged for the host to read: beside the database file (in the temp directory for `:memory:`). */
  readonly #stage: string;
  #host: DuckdbHost | undefined;
  #columns: ReadonlyArray<readonly [string, string]> = [];

  constructor(options: DuckdbTargetOptions) {
    if (typeof options.database !== 'string' || options.database.length === 0) throw new ConfigError('database', 'is required: a DuckDB file path (or :memory:)', options.database);
    this.#path = options.database;
    this.file = options.database === ':memory:' ? undefined : options.database;
    this.table = parseTableName(options.table);
    this.target = `duckdb:${options.database}`;
    // One writer per database file (DuckDB's lock), so one stage name per file is enough; for
    // :memory: each process has its own.
    this.#stage = this.file !== undefined ? join(dirname(this.file), `.${basename(this.file)}.stage.csv`) : join(tmpdir(), `.inference-streams-duckdb-${process.pid}-${++memoryStages}.stage.csv`);
  }

  get description(): string {
    return `duckdb table ${this.table.schema ? `${this.table.schema}.` : ''}${this.table.name} in ${this.#path}`;
  }

  async connect(): Promise<void> {
    try {
      // One thread: on a small machine DuckDB's worker threads would compete with the export for
      // the cores. A database file gets a memory limit (FILE_MEMORY_LIMIT); in memory the limit
      // would cap the table itself, so none there.
      const config: Record<string, string> = { threads: '1' };
      if (this.file !== undefined) config.memory_limit = FILE_MEMORY_LIMIT;
      this.#host = await DuckdbHost.open(this.#path, config, 'to', `the DuckDB destination (${this.target})`);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      const locked = /lock/i.test((error as Error).message ?? '');
      throw new DatabaseError(this.target, `cannot open the DuckDB database: ${(error as Error).message}${locked ? ' (another process has it open for writing; DuckDB allows one)' : ''}`, { cause: error });
    }
  }

  async run(sql: string, values?: SqlValue[]): Promise<number> {
    try {
      return await this.#host!.run(sql, values);
    } catch (error) {
      throw this.error(error);
    }
  }

  async rows(sql: string, values?: SqlValue[]): Promise<Record<string, unknown>[]> {
    try {
      return await this.#host!.rows(sql, values);
    } catch (error) {
      throw this.error(error);
    }
  }

  /** Create the table for `mapping` when missing; refuse an existing table of other columns. */
  async prepare(mapping: ColumnMapping): Promise<void> {
    this.#columns = mapping.columns.map((column) => [column.name, DUCKDB_TYPES[column.type][0]] as const);
    const existing = await this.rows(
      `SELECT column_name, data_type FROM information_schema.columns
        WHERE table_catalog = current_database() AND table_schema = COALESCE($1, current_schema()) AND table_name = $2 ORDER BY ordinal_position`,
      [this.table.schema ?? null, this.table.name],
    );
    if (existing.length === 0) {
      await this.run(`CREATE TABLE IF NOT EXISTS ${qualified(this.table)} (${mapping.columns.map((c) => `${quoteIdentifier(c.name)} ${DUCKDB_TYPES[c.type][0]}`).join(', ')})`);
      return;
    }
    const differences = columnDifferences(
      mapping.columns.map((c) => [c.name, DUCKDB_TYPES[c.type][1]] as const),
      existing.map((row) => [String(row.column_name), String(row.data_type)] as const),
    );
    // Rows go in by position, so the order must match too.
    const order = existing.map((row) => String(row.column_name)).join(',') === mapping.columns.map((c) => c.name).join(',');
    if (differences || !order) {
      // Tables made before JSON columns became VARCHAR (DuckDB's JSON refuses a lone surrogate) convert in place.
      const older = /\bis JSON, not VARCHAR\b/.test(differences ?? '') ? ', or convert its JSON columns: ALTER TABLE … ALTER COLUMN extras TYPE VARCHAR' : '';
      throw new DatabaseError(this.target, `table ${this.table.name} exists with other columns (${differences ?? 'another column order'}); nothing was written. Choose another table or drop this one${older}`, { code: 'TABLE_MISMATCH' });
    }
  }

  /** The page's CSV rows (made before any await: the records are garbage by the first round trip). */
  encode(records: readonly object[], mapping: ColumnMapping): string {
    return csvRows(mapping, records);
  }

  /** The same CSV rows made from the page's JSON lines (./csv-lines.ts: no record objects), as Parquet stages them. */
  encodeLines(lines: JsonLines, mapping: ColumnMapping): Buffer {
    this.#lineRows ??= csvLineRows(mapping);
    return this.#lineRows.encode(lines);
  }

  /** Insert staged CSV `text` in the open transaction: the host reads it with DuckDB's CSV reader. */
  async insert(text: StagedRows): Promise<void> {
    const statement = await this.#staged(text);
    if (statement) await this.run(statement.sql);
  }

  /** The page (staged CSV `text`) and `guard` (the position upsert) in one transaction, one round trip to the host (SqlTable.commitPage). */
  async commitPage(text: StagedRows | undefined, guard?: { sql: string; values: SqlValue[] }): Promise<number> {
    const statement = text === undefined ? undefined : await this.#staged(text);
    try {
      return await this.#host!.transaction(statement ? [statement] : [], guard);
    } catch (error) {
      throw this.error(error);
    }
  }

  /** Write `text` to the stage file; the INSERT that reads it (undefined: no rows). */
  async #staged(text: StagedRows): Promise<{ sql: string } | undefined> {
    if (text.length === 0) return undefined;
    try {
      // No fsync: the stage only carries the page to the host; the commit is what is durable.
      await writeFile(this.#stage, text);
    } catch (error) {
      throw this.error(diskFull(this.#stage, error));
    }
    return { sql: `INSERT INTO ${qualified(this.table)} SELECT * FROM ${stagedCsvSource(this.#stage, this.#columns)}` };
  }

  async rollback(): Promise<void> {
    await this.#host?.run('ROLLBACK').catch(() => undefined);
  }

  async close(): Promise<void> {
    const host = this.#host;
    this.#host = undefined;
    await host?.close();
    await rm(this.#stage, { force: true });
  }

  error(error: unknown): DatabaseError {
    if (error instanceof DatabaseError) return error;
    return new DatabaseError(this.target, `writing to ${this.description.replace(/ in .*$/, '')} failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
}

let memoryStages = 0;

/** The DuckDB destination of `exportInferenceResults` (see destination.ts for the contract). */
export function createDuckdbDestination(options: DuckdbDestinationOptions, context: DestinationContext): Destination {
  return new CheckpointedTableDestination(new DuckdbTable(options), context.mapping);
}

/** Options of {@link duckdbWriter}. */
export interface DuckdbWriterOptions extends DuckdbTargetOptions, TableWriterOptions {}

/**
 * A Writable of objects into a DuckDB table (created when missing): `batchSize` objects per
 * appender flush, each batch one transaction. Columns from `columns` or the first object.
 */
export function duckdbWriter(options: DuckdbWriterOptions): TableWriter {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  const resolved = resolveTableWriter(options);
  const table = new DuckdbTable(options);
  let mapped: ColumnMapping | undefined;
  const sink: TableSink = {
    async open(mapping) {
      // The sink gets rows already mapped: they are staged as CSV as they are.
      mapped = { columns: mapping.columns, row: (row) => row as CellValue[] };
      await table.connect();
      await table.prepare(mapping);
    },
    async write(rows) {
      await table.commitPage(table.encode(rows, mapped!));
    },
    async close() {
      await table.close();
    },
  };
  return new TableWriter(sink, resolved, options.signal, 'duckdbWriter');
}
