/** Shared by the JSONL, CSV and Parquet destination tests: faults, one-shot exports, DuckDB reads. */
import { DuckDBInstance } from '@duckdb/node-api';
import type { Emulator } from '../../src/emulator/index.js';
import { exportInferenceResults, type ExportInferenceResultsOptions } from '../../src/innerworks/index.js';

export const KEY = 'emulator-innerworks-key';

/** 20 % of requests fail (429 with a short Retry-After, 5xx, resets, truncated bodies). */
export const FAULTS = { rate: 0.2, kinds: ['429', '500', '503', 'reset', 'truncate'] as ('429' | '500' | '503' | 'reset' | 'truncate')[], retryAfterMs: 5 };

/** Options of a quick library export against `emulator`. */
export function libraryOptions(emulator: Emulator, extra: Partial<ExportInferenceResultsOptions>): ExportInferenceResultsOptions {
  return { apiKey: KEY, baseUrl: emulator.url, retry: { baseDelayMs: 1, maxDelayMs: 20 }, ...extra };
}

/** A one-shot export of everything to `file` (the reference a resumed export must equal). */
export async function oneShot(emulator: Emulator, file: string, extra: Partial<ExportInferenceResultsOptions> = {}): Promise<void> {
  await exportInferenceResults(libraryOptions(emulator, { file, ...extra }));
}

/** Rows of a DuckDB query, run in-process on a fresh in-memory database. */
export async function duckdbRows(sql: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRows() as unknown[][];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** SQL string literal. */
export const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** Strings that break naive CSV/Parquet/JSON handling. */
export const AWKWARD_TEXT = [
  'plain',
  'comma, inside',
  'quote " inside',
  '"fully quoted"',
  'back\\slash \\" and \\n literal',
  'line\nbreak and\r\nCRLF',
  'naïve café — 東京 🚀',
  '  leading and trailing spaces  ',
  '',
  "single ' quote",
];
