/**
 * What the database destinations (DuckDB, PostgreSQL) share: the export contract of
 * destination.ts on one connection to one table. Each page's rows go in with the partition's
 * position upserted into the checkpoints table in the SAME transaction, so the table holds
 * exactly the records before the saved position whatever happens. No state file: a resume reads
 * the positions from the database.
 *
 * The checkpoints table (`inference_streams_checkpoints`, in the target's schema) is keyed by
 * (export_id, partition) and names the target table: opening an export id saved for another table
 * is refused. Each position update is guarded by the position the writer last saw,
 * so a second writer of the same partition (a worker presumed dead that was not) fails instead
 * of writing its page twice.
 *
 * The SQL here is the same for both databases (DuckDB takes PostgreSQL's type names, `now()` and
 * `ON CONFLICT (…)`); what differs — connecting, creating the target table, how rows go in — is
 * the {@link SqlTable} each destination passes.
 */
import { ConfigError } from '../core/errors.js';
import type { ColumnMapping } from './columns.js';
import { CHECKPOINTS_TABLE, DatabaseError, qualified, type TableName } from './database-error.js';
import type { ClosedDestination, Destination, DestinationKind, OpenedExport, OpenRequest, PartitionPosition } from './destination.js';
import { inodeOf, type FileInode } from '../core/file-identity.js';
import { refuseLostOutput } from './output-check.js';
import type { JsonLines } from '../core/json-lines.js';

/** A value bound to a statement parameter (`$1` …). */
export type SqlValue = string | number | boolean | null;

/**
 * One connection to one target table, as the checkpoint logic uses it. `Rows` is a page made
 * ready to insert ({@link SqlTable.encode}): PostgreSQL's binary COPY bytes, DuckDB's rows.
 */
export interface SqlTable<Rows = unknown> {
  /** Where, for messages: `postgres://user@host:port/database` or `duckdb:PATH` (never a password). */
  readonly target: string;
  readonly table: TableName;
  /** E.g. `postgres table results on postgres://…`. */
  readonly description: string;
  /** The database file, when the target is one (DuckDB, not `:memory:`): a complete export checks it is still there. */
  readonly file?: string;
  connect(): Promise<void>;
  /** Run a statement; the rows it returns. */
  rows(sql: string, values?: SqlValue[]): Promise<Record<string, unknown>[]>;
  /** Run a statement; how many rows it changed. */
  run(sql: string, values?: SqlValue[]): Promise<number>;
  /** Create the table for `mapping` when missing; refuse an existing table of other columns. In the open transaction. */
  prepare(mapping: ColumnMapping): Promise<void>;
  /**
   * The rows of `records` in `mapping`, ready for {@link SqlTable.insert}: called while BEGIN
   * travels, so the page's record objects are garbage before the transaction's round trips.
   */
  encode(records: readonly object[], mapping: ColumnMapping): Rows;
  /**
   * Optional: the rows of a page given as its results' JSON lines (the export's byte path), the
   * same rows {@link SqlTable.encode} makes of the parsed records. With it (and commitPage) the
   * destination takes pages as lines and never parses them into objects.
   */
  encodeLines?(lines: JsonLines, mapping: ColumnMapping): Rows;
  /** Insert rows made by {@link SqlTable.encode}, in the open transaction. */
  insert(rows: Rows): Promise<void>;
  /** Roll back the open transaction (ignoring a dead connection). */
  rollback(): Promise<void>;
  /**
   * Optional, for a connection in another process (DuckDB's host): BEGIN, insert `rows` (when
   * given), run `guard`, and COMMIT only when it changed exactly one row (ROLLBACK otherwise or
   * on any error), in ONE round trip; resolves the guard's changed count. Statement by statement,
   * each answer waited for the exporting process's event loop, busy parsing the next page.
   */
  commitPage?(rows: Rows | undefined, guard: { sql: string; values: SqlValue[] }): Promise<number>;
  close(): Promise<void> | void;
}

const POSITION_COLUMNS = 'export_id, partition, target_table, start_time, end_time, checkpoint, records, pages, done';

/** The position upsert of a page: `$1` … `$9` the new position, guarded by `$10`/`$11`, the records and checkpoint this writer last saw. */
const UPSERT = (checkpoints: string) => `INSERT INTO ${checkpoints} AS saved (${POSITION_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (export_id, partition) DO UPDATE SET
           start_time = EXCLUDED.start_time, end_time = EXCLUDED.end_time, checkpoint = EXCLUDED.checkpoint,
           records = EXCLUDED.records, pages = EXCLUDED.pages, done = EXCLUDED.done, updated_at = now()
         WHERE saved.records = $10 AND saved.checkpoint IS NOT DISTINCT FROM $11`;

/** A database destination of `exportInferenceResults` (see destination.ts for the contract). */
export class CheckpointedTableDestination<Rows> implements Destination {
  readonly #table: SqlTable<Rows>;
  readonly #mapping: ColumnMapping;
  readonly #checkpoints: string;
  #exportId = '';
  /** The position each partition was last saved at: the guard of the next update. */
  #saved: PartitionPosition[] = [];
  /** Partitions share the connection: their transactions take turns. */
  #turn: Promise<unknown> = Promise.resolve();
  /** The database file as opened (see SqlTable.file). */
  #fileInode: FileInode | undefined;

  /** Present when the table makes rows from JSON lines (see SqlTable.encodeLines): the export then hands pages as lines. */
  readonly writeLines?: (partition: number, lines: JsonLines, position: PartitionPosition) => Promise<void>;

  constructor(table: SqlTable<Rows>, mapping: ColumnMapping) {
    this.#table = table;
    this.#mapping = mapping;
    this.#checkpoints = qualified(table.table, CHECKPOINTS_TABLE);
    const { encodeLines } = table;
    if (encodeLines && table.commitPage) {
      this.writeLines = (partition, lines, position) => this.#inTurn(() => this.#write(partition, lines.length, () => encodeLines.call(table, lines, mapping), position));
    }
  }

  get kind(): DestinationKind {
    return this.#table.target.startsWith('duckdb:') ? 'duckdb' : 'postgres';
  }

  get description(): string {
    return this.#table.description;
  }

  async open(request: OpenRequest): Promise<OpenedExport> {
    this.#exportId = request.exportId;
    await this.#table.connect();
    if (this.#table.file !== undefined) this.#fileInode = await inodeOf(this.#table.file);
    try {
      await this.#table.run('BEGIN');
      await this.#table.prepare(this.#mapping);
      await this.#table.run(`CREATE TABLE IF NOT EXISTS ${this.#checkpoints} (
        export_id text NOT NULL,
        partition integer NOT NULL,
        target_table text NOT NULL,
        start_time bigint,
        end_time bigint,
        checkpoint text,
        records bigint NOT NULL,
        pages bigint NOT NULL,
        done boolean NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (export_id, partition))`);
      let positions = await this.#load();
      if (positions.length === 0 && request.append !== true && (await this.#hasRows())) {
        // Rows of this export id are only written after its positions were committed, so rows
        // with positions there now are another worker's start of this export: resume it.
        positions = await this.#load();
        if (positions.length === 0) throw this.#notOurRows();
      }
      const resumed = positions.length > 0;
      if (!resumed) {
        // Insert-if-absent: two workers racing to start the same export agree on what is saved.
        for (const [partition, position] of request.initial.entries()) {
          await this.#table.run(`INSERT INTO ${this.#checkpoints} (${POSITION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (export_id, partition) DO NOTHING`, this.#values(partition, position));
        }
        positions = await this.#load();
      }
      await this.#table.run('COMMIT');
      this.#saved = positions.map((position) => ({ ...position }));
      return { positions, resumed };
    } catch (error) {
      await this.#table.rollback();
      throw error;
    }
  }

  write(partition: number, records: readonly object[], position: PartitionPosition): Promise<void> {
    return this.#inTurn(() => this.#write(partition, records.length, () => this.#table.encode(records, this.#mapping), position));
  }

  /** Partitions share the connection: `work` starts when the previous page's transaction ended. */
  #inTurn(work: () => Promise<void>): Promise<void> {
    const turn = this.#turn.then(work);
    this.#turn = turn.catch(() => undefined);
    return turn;
  }

  /** Commit a page of `count` records, made rows by `encode` (called once, before any await of its own). */
  async #write(partition: number, count: number, encode: () => Rows, position: PartitionPosition): Promise<void> {
    const previous = this.#saved[partition];
    if (this.#table.commitPage) {
      const rows = count > 0 ? encode() : undefined;
      const changed = await this.#table.commitPage(rows, { sql: UPSERT(this.#checkpoints), values: [...this.#values(partition, position), previous?.records ?? 0, previous?.checkpoint ?? null] });
      if (changed !== 1) throw this.#conflict(partition);
      this.#saved[partition] = { ...position };
      return;
    }
    // The page is made rows (PostgreSQL: COPY bytes, outside V8's heap) while BEGIN travels, and
    // the records are let go before the first await: measured with --heap-prof and
    // memoryUsage() sampling, a page's record objects held through the transaction's round trips
    // and fsync survived the scavenges of the next page's parse and were promoted, so the old
    // generation grew by a page of garbage a page before each mark-compact.
    const begun = this.#table.run('BEGIN');
    // Awaited below; an encode that throws must not leave it unhandled.
    begun.catch(() => undefined);
    try {
      const rows = count > 0 ? encode() : undefined;
      await begun;
      if (rows !== undefined) await this.#table.insert(rows);
      const changed = await this.#table.run(UPSERT(this.#checkpoints), [...this.#values(partition, position), previous?.records ?? 0, previous?.checkpoint ?? null]);
      if (changed !== 1) throw this.#conflict(partition);
      await this.#table.run('COMMIT');
      this.#saved[partition] = { ...position };
    } catch (error) {
      await this.#table.rollback();
      throw error;
    }
  }

  async close(complete: boolean): Promise<ClosedDestination> {
    await this.#turn;
    await this.#table.close();
    // A database file deleted while the export ran took every row with it, yet each commit succeeded.
    if (complete && this.#table.file !== undefined && this.#fileInode) {
      await refuseLostOutput(this.#table.file, this.#fileInode, 'database file', `the rows of table ${this.#table.table.name} and the saved positions of export ${this.#exportId}`, 'Run the export again to start over in a new file.');
    }
    return { files: [], bytes: 0 };
  }

  #conflict(partition: number): DatabaseError {
    return new DatabaseError(
      this.#table.target,
      `partition ${partition} of export ${this.#exportId} was moved on by another writer since this one read it; this page was not written. Run the export again to resume from the saved position`,
      { code: 'CHECKPOINT_CONFLICT' },
    );
  }

  /** `$1` … `$9` of a position row. */
  #values(partition: number, position: PartitionPosition): SqlValue[] {
    return [this.#exportId, partition, this.#table.table.name, position.startTime ?? null, position.endTime ?? null, position.checkpoint ?? null, position.records, position.pages, position.done];
  }

  /** The target table holds at least one row. */
  async #hasRows(): Promise<boolean> {
    return (await this.#table.rows(`SELECT 1 AS one FROM ${qualified(this.#table.table)} LIMIT 1`)).length > 0;
  }

  #notOurRows(): ConfigError {
    const { schema, name } = this.#table.table;
    return new ConfigError(
      'append',
      `table ${schema ? `${schema}.` : ''}${name} (${this.#table.target}) already has rows, but no saved position for export id ${this.#exportId} in ${this.#checkpoints}: the rows are another export's or were loaded otherwise. Pass append (--append) to add this export's rows to them, another table, or the exportId of the export that wrote them to resume it`,
    );
  }

  async #load(): Promise<PartitionPosition[]> {
    const rows = await this.#table.rows(`SELECT target_table, start_time, end_time, checkpoint, records, pages, done FROM ${this.#checkpoints} WHERE export_id = $1 ORDER BY partition`, [this.#exportId]);
    // The positions are keyed by export id only: another table's positions would make this
    // export skip every record that table already holds.
    const other = rows.find((row) => row.target_table !== this.#table.table.name);
    if (other) {
      throw new ConfigError(
        'exportId',
        `${this.#exportId} is the export id of table ${String(other.target_table)} in ${this.#checkpoints} (${this.#table.target}), not of ${this.#table.table.name}; pass another exportId (or that table) to write ${this.#table.table.name}`,
        this.#exportId,
      );
    }
    return rows.map((row) => {
      const position: PartitionPosition = { records: Number(row.records), pages: Number(row.pages), done: row.done === true };
      if (row.start_time !== null) position.startTime = Number(row.start_time);
      if (row.end_time !== null) position.endTime = Number(row.end_time);
      if (row.checkpoint !== null) position.checkpoint = String(row.checkpoint);
      return position;
    });
  }
}
