/**
 * The formats a file export writes, which one a file name implies, and the two refusals that keep
 * one file in one format: a resume in another format than the state file records, and a file name
 * whose extension names a format this library does not write (a `.duckdb` file must not get JSONL).
 */
import { ConfigError } from '../core/errors.js';

/** The file formats of `exportInferenceResults`. */
export type ExportFormat = 'jsonl' | 'csv' | 'parquet';

const FORMAT_NAMES: Readonly<Record<ExportFormat, string>> = { jsonl: 'JSONL', csv: 'CSV', parquet: 'Parquet' };

/** The format a file name implies. */
export function formatOf(file: string): ExportFormat {
  if (/[/\\]$/.test(file) || /\.parquet$/i.test(file)) return 'parquet';
  if (/\.csv$/i.test(file)) return 'csv';
  return 'jsonl';
}

/**
 * Extensions of formats not written as a file here, and what to do instead. Without `format`,
 * such a name would get JSONL (the default) and look like a file of the format it names.
 */
const NOT_WRITTEN: readonly { extension: RegExp; what: string; instead: (file: string) => string }[] = [
  { extension: /\.(duckdb|ddb)$/i, what: 'a DuckDB database', instead: (file) => `write a table into it with --to duckdb:${file} --table NAME (options to and table)` },
  { extension: /\.(db|sqlite3?)$/i, what: 'a database file', instead: (file) => `for DuckDB use --to duckdb:${file} --table NAME (options to and table); SQLite is not written` },
  { extension: /\.(tsv|xlsx?|ods|avro|orc|arrow|feather|ipc)$/i, what: 'a format not written here', instead: () => 'name the file .jsonl, .csv or .parquet' },
  { extension: /\.(gz|bz2|xz|zst|zip|tar)$/i, what: 'a compressed file, and exports are not compressed', instead: () => 'name the file .jsonl, .csv or .parquet and compress it afterwards' },
];

/**
 * Refuse a file name whose extension names a format not written as a file (e.g. `results.duckdb`),
 * when no `format` was given; with one, the caller said what the file holds.
 */
export function refuseUnwrittenExtension(file: string): void {
  const match = NOT_WRITTEN.find((entry) => entry.extension.test(file));
  if (!match) return;
  const extension = /\.[^./\\]+$/.exec(file)![0];
  throw new ConfigError('file', `names ${match.what} (${extension}), which an export does not write as a file: ${match.instead(file)}; or pass format (--format jsonl|csv|parquet) to write that format under this name`, file);
}

/**
 * The format a file export's state was saved by. States saved before the format was recorded:
 * a CSV state has its columns, a JSONL state none.
 */
export function savedFormatOf(saved: { format?: unknown; columns?: unknown }): ExportFormat | undefined {
  if (saved.format === 'jsonl' || saved.format === 'csv' || saved.format === 'parquet') return saved.format;
  if (saved.format !== undefined) return undefined;
  return Array.isArray(saved.columns) ? 'csv' : 'jsonl';
}

/**
 * Refuse to resume, in `format`, an export whose state says it was written in another format:
 * checked before anything is opened, so the file stays as it was (never two formats in one file).
 */
export function refuseOtherFormat(saved: { format?: unknown; columns?: unknown }, format: ExportFormat, stateFile: string): void {
  const was = savedFormatOf(saved);
  if (was === format) return;
  if (was === undefined) throw new ConfigError('stateFile', `${stateFile} is not the state of an Innerworks export (its format is not one written here): name another state file, or delete that file to start over`, stateFile);
  throw new ConfigError(
    'format',
    `the export being resumed (${stateFile}) was written as ${FORMAT_NAMES[was]}, not ${FORMAT_NAMES[format]}: pass the same format (--format ${was}) to resume it, or delete the state file and the output to start over in ${FORMAT_NAMES[format]}`,
    format,
  );
}
