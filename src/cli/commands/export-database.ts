/**
 * `inference-streams export --to postgres://…|duckdb:PATH --table NAME`: the export into a
 * database table. The positions live in the database (no state file), so running the same
 * command again resumes. PostgreSQL follows libpq's conventions: what the URL leaves out comes
 * from `DATABASE_URL` and the `PG*` variables of the command's environment; the password is
 * never printed.
 */
import { CHECKPOINTS_TABLE } from '../../destinations/database-error.js';
import { describePostgres, postgresUrl, resolvePostgresConnection } from '../../destinations/pg-url.js';
import type { InferenceResultsOptions } from '../../innerworks/index.js';
import { EXIT, UsageError, writeJsonSummary, type CliIO, type OptionValues } from '../command.js';
import { copyableCommand } from '../command-line.js';
import { formatCount } from '../progress.js';
import { retries, runResumableExport, seconds } from './export-run.js';
import { afterUntilLine, checkAfterUntil } from './after-until.js';
import { counted } from '../../core/plural.js';

/** A bare scheme: take the whole connection from DATABASE_URL / PG* variables. */
const BARE_POSTGRES = /^postgres(ql)?:?(\/\/)?$/i;

/** Where `--to` (or DATABASE_URL with only `--table`) points: what the library gets, and what may be shown. */
function databaseTarget(to: string | undefined, io: CliIO): { to: string; shown: string } {
  if (to === undefined) {
    if (!io.env.DATABASE_URL) throw new UsageError('--table needs --to postgres://USER@HOST:PORT/DB or --to duckdb:PATH (or DATABASE_URL set)');
    to = 'postgres';
  }
  if (/^duckdb:/i.test(to)) {
    if (to.length === 'duckdb:'.length) throw new UsageError('--to duckdb:PATH needs the database file path');
    return { to: `duckdb:${to.slice('duckdb:'.length)}`, shown: to };
  }
  if (BARE_POSTGRES.test(to) || /^postgres(ql)?:\/\//i.test(to)) {
    const connection = resolvePostgresConnection(BARE_POSTGRES.test(to) ? undefined : to, io.env, 'to');
    return { to: postgresUrl(connection), shown: describePostgres(connection) };
  }
  throw new UsageError('--to must be postgres://USER@HOST:PORT/DB (libpq conventions) or duckdb:PATH');
}

/** Run the export into the table `--table` of `--to`. */
export async function exportToDatabase(values: OptionValues, options: InferenceResultsOptions, io: CliIO): Promise<number> {
  const table = values.table;
  if (typeof table !== 'string' || table.length === 0) throw new UsageError('--to needs --table NAME (created when missing)');
  for (const flag of ['out', 'state', 'split', 'format', 'rows-per-part']) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} is for files; with --to the records go to a database table`);
  }
  const target = databaseTarget(typeof values.to === 'string' ? values.to : undefined, io);
  const place = { savedIn: `${target.shown} (table ${CHECKPOINTS_TABLE})`, resumeFrom: `table ${table} of ${target.shown}`, startOver: ` (positions in its table ${CHECKPOINTS_TABLE})`, command: copyableCommand(['export'], values) };
  const summary = await runResumableExport(io, { ...options, to: target.to, table, keepRecord: values['keep-record'] === true || undefined, append: values.append === true || undefined }, place);
  const after = await checkAfterUntil(options);
  if (values.json === true) {
    writeJsonSummary(io, 'export', { ...summary, to: target.shown, table, ...(after ? { afterUntil: after } : {}) });
  } else {
    const thisRun = summary.resumed ? `${formatCount(summary.recordsThisRun)} new; ` : '';
    io.stderr.write(`Exported ${counted(summary.records, 'record')} (${thisRun}${counted(summary.pages, 'page')}) to table ${table} of ${target.shown} in ${seconds(summary.elapsedMs)}${retries(summary.retries)}\n`);
    io.stderr.write(afterUntilLine(options.endTime, after));
  }
  return EXIT.ok;
}
