/**
 * DuckDB destination: each page's rows go in through DuckDB's appender and the partition's
 * position is upserted into a checkpoints table of the same database file, in ONE transaction
 * (checkpointed-table.ts, shared with PostgreSQL). No state file: a resume reads the positions
 * from the database. DuckDB runs in-process and a
 * database file has one writing process at a time (DuckDB locks it), so this destination is
 * for one machine; PostgreSQL is the one to share.
 *
 * `@duckdb/node-api` is an optional peer dependency, imported on first use.
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBDataChunk, DuckDBInstance } from '@duckdb/node-api';
import { ConfigError } from '../core/errors.js';
import type { CellValue, ColumnMapping, ColumnType } from './columns.js';
import { CheckpointedTableDestination, type SqlTable, type SqlValue } from './checkpointed-table.js';
import { DatabaseError, columnDifferences, parseTableName, qualified, quoteIdentifier, type TableName } from './database-error.js';
import { TableWriter, resolveTableWriter, type TableSink, type TableWriterOptions } from './db-writer.js';
import type { Destination, DestinationContext } from './destination.js';
import { importOptional } from './optional.js';

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
 * the table's blocks cached in the exporting process: a 1,000,000-record export peaked at 337 MB
 * RSS with V8's heap at 121 MB, so ~200 MB outside it (~50 MB of it DuckDB's library code). With
 * 32 MB the same export peaked at 284 MB and ran as fast; blocks past the limit are evicted to
 * the file, which already holds them after each checkpoint.
 */
const FILE_MEMORY_LIMIT = '32MB';

/** Rows per data chunk: DuckDB's vector size. */
const CHUNK_ROWS = 2048;

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

type DuckdbModule = typeof import('@duckdb/node-api');

let driver: Promise<DuckdbModule> | undefined;
function loadDriver(target: string): Promise<DuckdbModule> {
  driver ??= importOptional('@duckdb/node-api', 'to', `the DuckDB destination (${target})`, () => import('@duckdb/node-api'));
  return driver.catch((error: unknown) => {
    driver = undefined;
    throw error;
  });
}

/** One database file, one connection, one table. Shared by the export destination and the Writable. */
class DuckdbTable implements SqlTable<CellValue[][]> {
  readonly target: string;
  readonly table: TableName;
  readonly file: string | undefined;
  readonly #path: string;
  #duckdb: DuckdbModule | undefined;
  #instance: DuckDBInstance | undefined;
  #connection: DuckDBConnection | undefined;
  #types: readonly ColumnType[] = [];
  #chunk: DuckDBDataChunk | undefined;

  constructor(options: DuckdbTargetOptions) {
    if (typeof options.database !== 'string' || options.database.length === 0) throw new ConfigError('database', 'is required: a DuckDB file path (or :memory:)', options.database);
    this.#path = options.database;
    this.file = options.database === ':memory:' ? undefined : options.database;
    this.table = parseTableName(options.table);
    this.target = `duckdb:${options.database}`;
  }

  get description(): string {
    return `duckdb table ${this.table.schema ? `${this.table.schema}.` : ''}${this.table.name} in ${this.#path}`;
  }

  async connect(): Promise<void> {
    this.#duckdb = await loadDriver(this.target);
    try {
      // One thread: the appender and the commits run on this connection's thread anyway, and on a
      // small machine DuckDB's worker threads would compete with the export for the cores.
      // A database file gets a memory limit: DuckDB's memory is the exporting process's (see
      // FILE_MEMORY_LIMIT). In memory the limit would cap the table itself, so none there.
      const config: Record<string, string> = { threads: '1' };
      if (this.file !== undefined) config.memory_limit = FILE_MEMORY_LIMIT;
      this.#instance = await this.#duckdb.DuckDBInstance.create(this.#path, config);
      this.#connection = await this.#instance.connect();
    } catch (error) {
      this.close();
      const locked = /lock/i.test((error as Error).message ?? '');
      throw new DatabaseError(this.target, `cannot open the DuckDB database: ${(error as Error).message}${locked ? ' (another process has it open for writing; DuckDB allows one)' : ''}`, { cause: error });
    }
  }

  async run(sql: string, values?: SqlValue[]): Promise<number> {
    try {
      const result = await this.#connection!.run(sql, values);
      return result.rowsChanged;
    } catch (error) {
      throw this.error(error);
    }
  }

  async rows(sql: string, values?: SqlValue[]): Promise<Record<string, unknown>[]> {
    try {
      return (await this.#connection!.runAndReadAll(sql, values)).getRowObjects() as Record<string, unknown>[];
    } catch (error) {
      throw this.error(error);
    }
  }

  /** Create the table for `mapping` when missing; refuse an existing table of other columns. */
  async prepare(mapping: ColumnMapping): Promise<void> {
    this.#types = mapping.columns.map((column) => column.type);
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
    // Appended rows go by position, so the order must match too.
    const order = existing.map((row) => String(row.column_name)).join(',') === mapping.columns.map((c) => c.name).join(',');
    if (differences || !order) {
      // Tables made before JSON columns became VARCHAR (DuckDB's JSON refuses a lone surrogate) convert in place.
      const older = /\bis JSON, not VARCHAR\b/.test(differences ?? '') ? ', or convert its JSON columns: ALTER TABLE … ALTER COLUMN extras TYPE VARCHAR' : '';
      throw new DatabaseError(this.target, `table ${this.table.name} exists with other columns (${differences ?? 'another column order'}); nothing was written. Choose another table or drop this one${older}`, { code: 'TABLE_MISMATCH' });
    }
  }

  /**
   * Append `rows` (inside the caller's transaction when there is one), column by column in data
   * chunks of up to 2048 rows: booleans, numbers, times and nulls are written into the vectors
   * directly, so only strings cost a call into DuckDB each (about 15 % faster than row by row).
   */
  async append(rows: readonly CellValue[][]): Promise<void> {
    if (rows.length === 0) return;
    let appender: DuckDBAppender | undefined;
    try {
      appender = await this.#connection!.createAppender(this.table.name, this.table.schema ?? null);
      const { DuckDBDataChunk, DuckDBTimestampTZValue } = this.#duckdb!;
      // One chunk for every page, reset between uses (a chunk's memory is DuckDB's, freed only
      // when V8 collects its wrapper). The table's own types: a chunk must match them exactly.
      this.#chunk ??= DuckDBDataChunk.create(Array.from({ length: appender.columnCount }, (_, i) => appender!.columnType(i)));
      const chunk = this.#chunk;
      const types = this.#types;
      for (let offset = 0; offset < rows.length; offset += CHUNK_ROWS) {
        const count = Math.min(CHUNK_ROWS, rows.length - offset);
        chunk.reset();
        chunk.rowCount = count;
        for (let column = 0; column < types.length; column++) {
          const vector = chunk.getColumnVector(column);
          const type = types[column];
          for (let i = 0; i < count; i++) {
            const value = rows[offset + i][column];
            vector.setItem(
              i,
              value === null ? null : type === 'timestamp' ? new DuckDBTimestampTZValue(BigInt(value as number) * 1000n) : type === 'integer' ? BigInt(value as number) : value,
            );
          }
          vector.flush();
        }
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } catch (error) {
      throw this.error(error);
    } finally {
      try {
        appender?.closeSync();
      } catch {
        // A failed flush already threw; closing only releases the appender.
      }
    }
  }

  encode(records: readonly object[], mapping: ColumnMapping): CellValue[][] {
    return records.map((record) => mapping.row(record));
  }

  insert(rows: readonly CellValue[][]): Promise<void> {
    return this.append(rows);
  }

  async rollback(): Promise<void> {
    await this.#connection?.run('ROLLBACK').catch(() => undefined);
  }

  close(): void {
    this.#connection?.closeSync();
    this.#instance?.closeSync();
    this.#connection = undefined;
    this.#instance = undefined;
  }

  error(error: unknown): DatabaseError {
    if (error instanceof DatabaseError) return error;
    return new DatabaseError(this.target, `writing to ${this.description.replace(/ in .*$/, '')} failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
}

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
  const sink: TableSink = {
    async open(mapping) {
      await table.connect();
      await table.prepare(mapping);
    },
    async write(rows) {
      try {
        await table.run('BEGIN TRANSACTION');
        await table.append(rows);
        await table.run('COMMIT');
      } catch (error) {
        await table.rollback();
        throw error;
      }
    },
    async close() {
      table.close();
    },
  };
  return new TableWriter(sink, resolved, options.signal, 'duckdbWriter');
}
