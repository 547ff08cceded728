/**
 * The CSV destination and `csvWriter()`: UTF-8, a header row, RFC 4180 (CRLF line ends; a field
 * with `"`, `,`, CR or LF is quoted with inner quotes doubled; null is an empty field, the empty
 * string `""`, so the two stay apart). Columns are those of `./columns.ts`; timestamps are ISO
 * 8601 in UTC, booleans `true`/`false`, json columns their JSON text. Cells are written as they
 * are (a leading `=` included) unless `escapeFormulas` asks for spreadsheet-safe text.
 *
 * The quoting is our own dozen lines rather than csv-stringify: measured on 5000-record pages of
 * Innerworks rows, csv-stringify encodes 68 k rows/s and this 259 k rows/s, and at csv-stringify's
 * speed the CSV export could not reach 0.8× the JSONL export (benchmarks/destinations). The
 * tests read our output back with csv-parse and DuckDB.
 *
 * An export's pages take another road to the same bytes: its results come as JSON lines and
 * `./csv-lines.ts` makes their rows from the lines' bytes, handing any record it is not sure of
 * to `csvRows` below, which stays the reference.
 */
import { Writable } from 'node:stream';
import { open, type FileHandle } from 'node:fs/promises';
import { ConfigError } from '../core/errors.js';
import { booleanOption, stringOption } from '../core/options.js';
import { AppendingFileDestination, diskFull, writeFully, type AppendingFileOptions, type Encoder } from './appending-file.js';
import { objectMapping, type CellValue, type ColumnMapping, type ColumnSpec, type ColumnType, type MappingOptions } from './columns.js';
import { CsvLineRows } from './csv-lines.js';
import type { Destination, DestinationContext, PartitionPosition } from './destination.js';
import type { JsonLines } from '../core/json-lines.js';

const NEEDS_QUOTES = /[",\r\n]/;
/** What a spreadsheet runs as a formula when a cell starts with it: OWASP's list (=, +, -, @, tab, CR). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** How cells are written. */
export interface CsvFormatOptions {
  /**
   * Prefix a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return with `'`,
   * so a spreadsheet shows it instead of running it as a formula ("CSV injection"). Only text
   * columns: numbers, times and JSON stay as they are. Default false: the file holds the values
   * exactly as received (data fidelity); turn it on for files meant to be opened in a spreadsheet.
   */
  escapeFormulas?: boolean;
}

/** One CSV field. */
function field(value: CellValue, type: ColumnType, escapeFormulas = false): string {
  if (value === null) return '';
  if (type === 'timestamp') return new Date(value as number).toISOString();
  // String(-0) is "0": the sign would be lost.
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value !== 'string') return String(value);
  const text = escapeFormulas && type === 'string' && FORMULA_START.test(value) ? `'${value}` : value;
  return text === '' || NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The header row of `mapping`. */
export function csvHeader(mapping: ColumnMapping): string {
  return `${mapping.columns.map((column) => field(column.name, 'string')).join(',')}\r\n`;
}

/** The CSV text of `records` (no header). */
export function csvRows(mapping: ColumnMapping, records: readonly object[], format: CsvFormatOptions = {}): string {
  const types = mapping.columns.map((column) => column.type);
  const escape = format.escapeFormulas === true;
  let text = '';
  for (const record of records) {
    const row = mapping.row(record);
    let line = field(row[0], types[0], escape);
    for (let i = 1; i < row.length; i++) line += `,${field(row[i], types[i], escape)}`;
    text += `${line}\r\n`;
  }
  return text;
}

/**
 * The maker of `mapping`'s CSV rows from JSON lines (./csv-lines.ts), falling back to
 * {@link csvRows} for a record it is not sure of: the CSV destination's and the CSV that Parquet
 * and DuckDB stage (default format).
 */
export function csvLineRows(mapping: ColumnMapping, format: CsvFormatOptions = {}): CsvLineRows {
  return new CsvLineRows(mapping, format, (records) => csvRows(mapping, records, format));
}

/** An encoder of `mapping`'s rows with its header. */
export function csvEncoder(mapping: ColumnMapping, format: CsvFormatOptions = {}): Encoder {
  return { format: 'csv', header: Buffer.from(csvHeader(mapping)), mapping, encode: (records) => Buffer.from(csvRows(mapping, records, format)) };
}

/** A CSV file destination for `exportInferenceResults`. */
export function createCsvDestination(options: AppendingFileOptions & CsvFormatOptions, context: DestinationContext): Destination {
  return new CsvFileDestination(context.mapping, options);
}

/**
 * An export hands it each page as JSON lines (`writeLines`), made rows by `./csv-lines.ts`
 * without record objects; `write` (records) stays for the other sources. Both give the same bytes.
 */
class CsvFileDestination extends AppendingFileDestination {
  private readonly lineRows: CsvLineRows;

  constructor(mapping: ColumnMapping, options: AppendingFileOptions & CsvFormatOptions) {
    super('CSV', csvEncoder(mapping, options), options);
    this.lineRows = csvLineRows(mapping, options);
  }

  async writeLines(partition: number, lines: JsonLines, position: PartitionPosition): Promise<void> {
    await this.append(partition, lines.length > 0 ? this.lineRows.encode(lines) : undefined, position);
  }
}

/** Options shared by the file Writables ({@link csvWriter}, `parquetWriter()`). */
export interface FileWriterOptions extends MappingOptions {
  /** The file to write. Required. */
  file: string;
  /**
   * The columns: names of top-level fields, or `{name, path, type}` for nested ones. Default: the
   * top-level fields of the first object. Fields no column takes, and values a column cannot hold
   * exactly, go into the `extras` column.
   */
  columns?: readonly (string | ColumnSpec)[];
}

/** Options of {@link csvWriter}. */
export interface CsvWriterOptions extends FileWriterOptions, CsvFormatOptions {
  /** The CSV file to write (created or truncated). Required. */
  file: string;
}

/** Check a file Writable's options before any write (ConfigError naming the option); returns the file. */
export function fileWriterFile(options: FileWriterOptions): string {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  const file = stringOption('file', options.file, true)!;
  if (options.columns !== undefined && !Array.isArray(options.columns)) throw new ConfigError('columns', 'must be an array of column names or {name, path?, type?}', options.columns);
  if (options.columns !== undefined) objectMapping(options.columns, {}, options);
  return file;
}

/** A TypeError for the first chunk that is not an object (a string would otherwise become a row of character fields). */
export function notAnObject(records: readonly unknown[], writer: string): TypeError | undefined {
  const bad = records.find((record) => typeof record !== 'object' || Array.isArray(record));
  return bad === undefined ? undefined : new TypeError(`${writer} writes objects, one row each; got ${Array.isArray(bad) ? 'an array' : typeof bad}`);
}

/**
 * A Writable of objects to a CSV file: one row per object, the header first. Writes are batched
 * (`writev`) and backpressure is the stream's; the file is fsynced before `'finish'`.
 */
export function csvWriter(options: CsvWriterOptions): Writable {
  const file = fileWriterFile(options);
  const format = { escapeFormulas: booleanOption('escapeFormulas', options.escapeFormulas, false) };
  let handle: FileHandle | undefined;
  let mapping: ColumnMapping | undefined;
  const start = async (first: object) => {
    mapping = objectMapping(options.columns, first, options);
    handle = await open(file, 'w');
    await writeFully(handle, csvHeader(mapping), null, file).catch((error: unknown) => {
      throw diskFull(file, error);
    });
  };
  return new Writable({
    objectMode: true,
    highWaterMark: 1000,
    writev(chunks, callback) {
      const records = chunks.map(({ chunk }) => chunk as object);
      const bad = notAnObject(records, 'csvWriter()');
      if (bad) return callback(bad);
      (async () => {
        if (!mapping) await start(records[0]);
        await writeFully(handle!, csvRows(mapping!, records, format), null, file).catch((error: unknown) => {
          throw diskFull(file, error);
        });
      })().then(() => callback(), callback);
    },
    final(callback) {
      (async () => {
        if (!handle && options.columns !== undefined) await start({});
        if (handle) {
          await handle.sync();
          await handle.close();
          handle = undefined;
        }
      })().then(() => callback(), callback);
    },
    destroy(error, callback) {
      const opened = handle;
      handle = undefined;
      (opened ? opened.close() : Promise.resolve()).then(
        () => callback(error),
        () => callback(error),
      );
    },
  });
}
