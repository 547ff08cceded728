/**
 * How DuckDB reads the CSV rows the Parquet and DuckDB destinations stage (csvRows() of csv.ts:
 * RFC 4180, no header, null an empty field and the empty string `""`), typed column by column
 * so nothing is guessed: the same reader for a Parquet part's COPY and a DuckDB page's INSERT.
 */

/** DuckDB's CSV read buffer (its default, 32 MB, alone exceeds the memory limits the destinations set). */
const CSV_BUFFER_BYTES = 8 * 1024 * 1024;

/** `read_csv(…)` of the staged file at `path` with these columns (name, DuckDB type). */
export function stagedCsvSource(path: string, columns: ReadonlyArray<readonly [name: string, type: string]>): string {
  const types = `{${columns.map(([name, type]) => `${sqlString(name)}: '${type}'`).join(', ')}}`;
  return `read_csv(${sqlString(path)}, header = false, auto_detect = false, columns = ${types}, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, parallel = false, buffer_size = ${CSV_BUFFER_BYTES})`;
}

/** A SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
