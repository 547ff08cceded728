/**
 * PostgreSQL destination: each page goes in with `COPY … FROM STDIN` (binary format, see
 * pg-copy-binary.ts) and the partition's position is upserted into the checkpoints table in the
 * SAME transaction (checkpointed-table.ts, shared with DuckDB), so the table holds exactly the
 * records before the saved position whatever happens. No state file: a resume reads the
 * positions from the database, which is what lets partitions of one export run on many machines
 * against one database (issue 12); the guarded position update makes a second writer of the
 * same partition fail instead of writing its page twice.
 *
 * `pg` and `pg-copy-streams` are optional peer dependencies, imported on first use.
 */
import type { Client, ClientConfig } from 'pg';
import { Readable } from 'node:stream';
import { AbortError, ConfigError } from '../core/errors.js';
import { pipeline } from 'node:stream/promises';
import type { CellValue, ColumnMapping, ColumnType } from './columns.js';
import { CheckpointedTableDestination, type SqlTable, type SqlValue } from './checkpointed-table.js';
import { DatabaseError, columnDifferences, parseTableName, qualified, quoteIdentifier, type TableName } from './database-error.js';
import { TableWriter, resolveTableWriter, type TableSink, type TableWriterOptions } from './db-writer.js';
import type { Destination, DestinationContext } from './destination.js';
import { importOptional } from './optional.js';
import { BinaryCopyEncoder, binaryCopyChunks } from './pg-copy-binary.js';
import { describePostgres, pgClientConfig, resolvePostgresConnection, type PostgresConnection } from './pg-url.js';

/** Where a PostgreSQL destination writes. */
export interface PostgresTargetOptions {
  /**
   * `postgres://USER[:PASSWORD]@HOST:PORT/DATABASE[?sslmode=…]` (libpq conventions). Default
   * `DATABASE_URL`; parts it leaves out come from `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
   * `PGDATABASE`, `PGSSLMODE`, then `~/.pgpass`. The password never appears in messages.
   */
  connectionString?: string;
  /** Target table, `name` or `schema.name` (letters, digits, `_`); created when missing. Required. */
  table: string;
}

/** Options of {@link createPostgresDestination}. */
export type PostgresDestinationOptions = PostgresTargetOptions;

const PG_TYPES: Record<ColumnType, readonly [ddl: string, udt: string]> = {
  string: ['text', 'text'],
  boolean: ['boolean', 'bool'],
  timestamp: ['timestamptz', 'timestamptz'],
  integer: ['bigint', 'int8'],
  double: ['double precision', 'float8'],
  // json, not jsonb: JSON text is stored as it is, so the `\u0000` escape that jsonb refuses (and
  // a lone surrogate's escape) stays storable and recoverable; see columns.ts.
  json: ['json', 'json'],
};

interface PgDriver {
  Client: new (config: ClientConfig) => Client;
  copyFrom: (sql: string) => NodeJS.WritableStream & { rowCount: number };
}

/** Load `pg` and `pg-copy-streams` (optional peers) once. */
let driver: Promise<PgDriver> | undefined;
function loadDriver(target: string): Promise<PgDriver> {
  driver ??= importOptional('pg pg-copy-streams', 'to', `the PostgreSQL destination (${target})`, async () => {
    const pg = await import('pg');
    const copy = await import('pg-copy-streams');
    const Client = (pg.default ?? pg).Client;
    const from = (copy.default ?? copy).from as unknown as PgDriver['copyFrom'];
    return { Client, copyFrom: from };
  });
  return driver.catch((error: unknown) => {
    driver = undefined;
    throw error;
  });
}

/**
 * One connection to one table: connect with a clear error, create or check the table, COPY
 * rows. Shared by the export destination and the Writable.
 */
class PostgresTable implements SqlTable<Buffer> {
  readonly target: string;
  readonly table: TableName;
  readonly #connection: PostgresConnection;
  #client: Client | undefined;
  #driver: PgDriver | undefined;
  /** An error the connection reported while idle (the server went away). */
  #broken: Error | undefined;
  #columns: readonly { name: string; type: ColumnType }[] = [];
  #types: readonly ColumnType[] = [];
  #copySql = '';
  #encoder: BinaryCopyEncoder | undefined;

  constructor(options: PostgresTargetOptions) {
    this.table = parseTableName(options.table);
    this.#connection = resolvePostgresConnection(options.connectionString);
    this.target = describePostgres(this.#connection);
  }

  get description(): string {
    return `postgres table ${this.table.schema ? `${this.table.schema}.` : ''}${this.table.name} on ${this.target}`;
  }

  /** Connect; `signal` gives up a connect in progress at once (the socket is closed: nothing lingers). */
  async connect(signal?: AbortSignal): Promise<void> {
    this.#driver = await loadDriver(this.target);
    if (signal?.aborted) throw new AbortError(`stopped before connecting to ${this.target}`, { cause: signal.reason });
    const client = new this.#driver.Client(pgClientConfig(this.#connection) as ClientConfig);
    client.on('error', (error: Error) => {
      this.#broken = error;
    });
    // pg's connect() does not settle when end() is called during it, and end() leaves a socket
    // waiting for the server's answer open: race connect() against the signal, and destroy the socket.
    let onAbort = () => undefined as void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
        void client.end().catch(() => undefined);
        reject(new AbortError(`stopped while connecting to ${this.target}`, { cause: signal?.reason }));
      };
    });
    aborted.catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([client.connect(), aborted]);
    } catch (error) {
      if (error instanceof AbortError) throw error;
      await client.end().catch(() => undefined);
      throw connectError(this.target, error);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    this.#client = client;
  }

  /** Run `sql` with `values`, turning a driver error into a DatabaseError naming the target. */
  async query(sql: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }> {
    if (this.#broken) throw new DatabaseError(this.target, `the connection was lost: ${this.#broken.message}`, { cause: this.#broken });
    try {
      return await this.#client!.query(sql, values);
    } catch (error) {
      throw queryError(this.target, this.description, error);
    }
  }

  async rows(sql: string, values?: SqlValue[]): Promise<Record<string, unknown>[]> {
    return (await this.query(sql, values)).rows;
  }

  async run(sql: string, values?: SqlValue[]): Promise<number> {
    return (await this.query(sql, values)).rowCount ?? 0;
  }

  /** Create the table for `mapping` when missing; refuse an existing table of other columns. Call inside a transaction. */
  async prepare(mapping: ColumnMapping): Promise<void> {
    this.#columns = mapping.columns.map((column) => ({ name: column.name, type: column.type }));
    this.#types = this.#columns.map((column) => column.type);
    this.#encoder = undefined;
    this.#copySql = `COPY ${qualified(this.table)} (${this.#columns.map((c) => quoteIdentifier(c.name)).join(', ')}) FROM STDIN (FORMAT binary)`;
    // Serializes table creation between writers starting at once (many workers of one export).
    await this.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`inference-streams:${this.table.schema ?? ''}.${this.table.name}`]);
    const existing = await this.query(
      `SELECT column_name, udt_name FROM information_schema.columns
        WHERE table_schema = COALESCE($1, current_schema()) AND table_name = $2 ORDER BY ordinal_position`,
      [this.table.schema ?? null, this.table.name],
    );
    const expected = this.#columns.map((c) => [c.name, PG_TYPES[c.type][1]] as const);
    if (existing.rows.length === 0) {
      await this.query(`CREATE TABLE ${qualified(this.table)} (${this.#columns.map((c) => `${quoteIdentifier(c.name)} ${PG_TYPES[c.type][0]}`).join(', ')})`);
      return;
    }
    const differences = columnDifferences(
      expected,
      existing.rows.map((row) => [String(row.column_name), String(row.udt_name)] as const),
    );
    if (differences) {
      // Tables made before JSON columns became json (jsonb refuses \u0000) convert in place.
      const older = /\bis jsonb, not json\b/.test(differences) ? ', or convert its jsonb columns: ALTER TABLE … ALTER COLUMN extras TYPE json' : '';
      throw new DatabaseError(this.target, `table ${this.table.name} exists with other columns (${differences}); nothing was written. Choose another table or drop this one${older}`, { code: 'TABLE_MISMATCH' });
    }
  }

  /**
   * The binary COPY bytes of `records` (about 1.5 MB for a page of 5000 results), outside V8's
   * heap, in the encoder's reused buffer: valid until the next page's encode, which comes only
   * after this page's transaction (CheckpointedTableDestination writes one page at a time).
   */
  encode(records: readonly object[], mapping: ColumnMapping): Buffer {
    this.#encoder ??= new BinaryCopyEncoder(this.#types);
    return this.#encoder.encode(records, (record) => mapping.row(record));
  }

  /** COPY the bytes of {@link encode} (inside the caller's transaction when there is one): one write. */
  async insert(bytes: Buffer): Promise<void> {
    if (this.#broken) throw new DatabaseError(this.target, `the connection was lost: ${this.#broken.message}`, { cause: this.#broken });
    const stream = this.#client!.query(this.#driver!.copyFrom(this.#copySql) as never) as unknown as NodeJS.WritableStream;
    try {
      await pipeline(Readable.from([bytes]), stream);
    } catch (error) {
      throw queryError(this.target, this.description, error);
    }
  }

  /**
   * COPY `rows` (the Writable's batches), encoded as the bytes are sent: PostgreSQL parses the
   * first chunk while the rest is still being encoded.
   */
  async copy(rows: readonly CellValue[][]): Promise<void> {
    if (rows.length === 0) return;
    if (this.#broken) throw new DatabaseError(this.target, `the connection was lost: ${this.#broken.message}`, { cause: this.#broken });
    const stream = this.#client!.query(this.#driver!.copyFrom(this.#copySql) as never) as unknown as NodeJS.WritableStream;
    try {
      await pipeline(Readable.from(binaryCopyChunks(rows, (row) => row, this.#types)), stream);
    } catch (error) {
      throw queryError(this.target, this.description, error);
    }
  }

  /** Roll back, ignoring a dead connection. */
  async rollback(): Promise<void> {
    await this.#client?.query('ROLLBACK').catch(() => undefined);
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }
}

/** The PostgreSQL destination of `exportInferenceResults` (see destination.ts for the contract). */
export function createPostgresDestination(options: PostgresDestinationOptions, context: DestinationContext): Destination {
  return new CheckpointedTableDestination(new PostgresTable(options), context.mapping);
}

/** Options of {@link postgresWriter}. */
export interface PostgresWriterOptions extends PostgresTargetOptions, TableWriterOptions {}

/**
 * A Writable of objects into a PostgreSQL table (created when missing): `batchSize` objects per
 * `COPY … FROM STDIN`, each batch one transaction. Columns from `columns` or the first object.
 */
export function postgresWriter(options: PostgresWriterOptions): TableWriter {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  const resolved = resolveTableWriter(options);
  const table = new PostgresTable(options);
  let closed = false;
  const sink: TableSink = {
    async open(mapping) {
      await table.connect();
      try {
        await table.query('BEGIN');
        await table.prepare(mapping);
        await table.query('COMMIT');
      } catch (error) {
        await table.rollback();
        throw error;
      }
    },
    write: (rows) => table.copy(rows),
    async close() {
      if (closed) return;
      closed = true;
      await table.close();
    },
  };
  return new TableWriter(sink, resolved, options.signal, 'postgresWriter');
}

/**
 * Connect to the database of `connectionString` (libpq conventions, as the destination does)
 * and disconnect: whether this process can reach it and log in. Throws the destination's
 * DatabaseError (naming the target, never the password) when it cannot.
 */
export async function checkPostgres(connectionString: string, signal?: AbortSignal): Promise<void> {
  const table = new PostgresTable({ connectionString, table: 'unused' });
  await table.connect(signal);
  await table.close();
}

/** A failed connect, as a DatabaseError that says what to check (never the password). */
function connectError(target: string, error: unknown): DatabaseError {
  const code = (error as { code?: string }).code;
  const message = (error as Error).message ?? String(error);
  const hint =
    code === '28P01' || code === '28000'
      ? ' (check the user and password: the URL, PGPASSWORD or ~/.pgpass)'
      : code === '3D000'
        ? ' (create the database first)'
        : code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || /timeout/i.test(message)
          ? ' (is the server running and reachable there?)'
          : '';
  return new DatabaseError(target, `cannot connect to PostgreSQL: ${message}${hint}`, { cause: error, code });
}

/** A failed statement, naming the table. */
function queryError(target: string, description: string, error: unknown): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const code = (error as { code?: string }).code;
  return new DatabaseError(target, `writing to ${description.replace(/ on .*$/, '')} failed: ${(error as Error).message ?? String(error)}`, { cause: error, code });
}
