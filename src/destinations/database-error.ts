/**
 * Errors of the database destinations (DuckDB, PostgreSQL), and the SQL identifier rules they
 * share. A message names the target (`postgres://user@host:port/db`, a DuckDB file) and the
 * table, never a password: the base class redacts every registered secret.
 */
import { ConfigError, InferenceStreamsError } from '../core/errors.js';

/** A database destination failed: cannot connect, bad credentials, a table of another shape, a failed write. */
export class DatabaseError extends InferenceStreamsError {
  /** Where: `postgres://user@host:port/database` or `duckdb:PATH` (never a password). */
  readonly target: string;
  /** The driver's code when it has one (PostgreSQL SQLSTATE such as `28P01`, or `ECONNREFUSED`). */
  readonly code: string | undefined;
  constructor(target: string, message: string, options?: { cause?: unknown; code?: string }) {
    super(`${target}: ${message}`, options);
    this.target = target;
    this.code = options?.code;
  }
}

/** A plain SQL identifier: letters, digits, `_` and `$`, not starting with a digit, at most 63 bytes (PostgreSQL's limit). */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** A table name split into an optional schema and the name. */
export interface TableName {
  schema: string | undefined;
  name: string;
}

/**
 * Validate `table` (`name` or `schema.name`). Anything else — quotes, spaces, `;` — is refused
 * with a ConfigError before any connection, so SQL in a table name never reaches the database;
 * the names are also always quoted where used.
 */
export function parseTableName(table: unknown, option = 'table'): TableName {
  if (typeof table !== 'string' || table.length === 0) throw new ConfigError(option, 'is required: a table name such as results or analytics.results');
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new ConfigError(option, 'must be a table name of letters, digits and _ (optionally schema.table), not starting with a digit', table);
  }
  return parts.length === 2 ? { schema: parts[0], name: parts[1] } : { schema: undefined, name: parts[0] };
}

/** `"name"`, with any `"` doubled (identifiers are validated first; this is the second guard). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."name"` or `"name"`. */
export function qualified(table: TableName, name = table.name): string {
  return table.schema === undefined ? quoteIdentifier(name) : `${quoteIdentifier(table.schema)}.${quoteIdentifier(name)}`;
}

/** Name of the checkpoints table, in the target table's schema. */
export const CHECKPOINTS_TABLE = 'inference_streams_checkpoints';

/** Compare a table's columns with the mapping's, as `name type` pairs; a sentence naming the differences, or undefined when they match. */
export function columnDifferences(expected: ReadonlyArray<readonly [string, string]>, actual: ReadonlyArray<readonly [string, string]>): string | undefined {
  const have = new Map(actual);
  const want = new Map(expected);
  const missing = expected.filter(([name]) => !have.has(name)).map(([name, type]) => `${name} ${type}`);
  const unexpected = actual.filter(([name]) => !want.has(name)).map(([name, type]) => `${name} ${type}`);
  const retyped = expected.filter(([name, type]) => have.has(name) && have.get(name) !== type).map(([name, type]) => `${name} is ${have.get(name)}, not ${type}`);
  const parts = [
    missing.length > 0 ? `missing ${missing.join(', ')}` : '',
    unexpected.length > 0 ? `unexpected ${unexpected.join(', ')}` : '',
    retyped.length > 0 ? retyped.join('; ') : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** Driver and SQLSTATE codes that mean the server could not be reached or went away, not that a statement was wrong. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '53300']);

/**
 * True when a DatabaseError says the database was unreachable, went away, or refused this
 * client's login (SQLSTATE classes 08 and 28, a shutdown, too many connections, a socket error,
 * a missing password): a failure of where and how the writer connects, which a retry on a
 * healthy connection cures. False for what a retry cannot change: a table of other columns,
 * a position moved on by another writer, a missing database, a refused row.
 */
export function isDatabaseUnavailable(error: DatabaseError): boolean {
  const code = error.code;
  if (code === 'TABLE_MISMATCH' || code === 'CHECKPOINT_CONFLICT' || code === '3D000') return false;
  if (code !== undefined && (UNAVAILABLE_CODES.has(code) || code.startsWith('08') || code.startsWith('28'))) return true;
  return /cannot connect to PostgreSQL|the connection was lost|Connection terminated|terminating connection|not queryable|password must be a string/i.test(error.message);
}
