/**
 * inference-streams: Node streams for the Innerworks, SafetyKit and Reinfer APIs.
 * This file only re-exports; see DESIGN.md's public API table.
 */
export * from './innerworks/index.js';
export * from './safetykit/index.js';
export * from './reinfer/index.js';
export * from './queue/index.js';
export { parseJsonl, stringifyJsonl, type ItemCheck, type ParseJsonlOptions } from './core/jsonl.js';
export { MAX_JSON_DEPTH } from './core/json-bytes.js';
export { parseJsonArray, type ParseJsonArrayOptions } from './core/json-array.js';
export { JsonText, isJsonText, oneLine } from './core/json-text.js';
export type { LinePosition } from './core/jsonl-positions.js';
export { JsonArrayError } from './core/errors.js';
export { csvWriter, type CsvWriterOptions } from './destinations/csv.js';
export { parquetWriter, type ParquetWriterOptions } from './destinations/parquet.js';
export type { ExportFormat, DestinationOptions } from './destinations/index.js';
export type { ColumnSpec, ColumnType, MappingOptions } from './destinations/columns.js';
export { duckdbWriter, type DuckdbWriterOptions, type DuckdbTargetOptions } from './destinations/duckdb.js';
export { postgresWriter, type PostgresWriterOptions, type PostgresTargetOptions } from './destinations/postgres.js';
export { DatabaseError } from './destinations/database-error.js';
export type { TableWriter, TableWriterOptions, TableWriterStats } from './destinations/db-writer.js';
export {
  InferenceStreamsError,
  ConfigError,
  AbortError,
  ApiError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  InvalidRequestError,
  RateLimitError,
  ServerError,
  TransportError,
  TimeoutError,
  ConnectionError,
  ProtocolError,
  RequestBodyError,
  JsonlError,
  ImportFailedError,
  DiskFullError,
  OutputLostError,
  redact,
  type ApiErrorDetails,
} from './core/errors.js';
export { RETRY_CHANNEL, type RetryEvent, type RetryNotice, type RetryOptions } from './core/retry.js';
export type { CommonOptions } from './core/options.js';
export type { BaseStats } from './core/stats.js';
export { CheckpointFile } from './core/checkpoint.js';
export { planLineRanges, type LineRange } from './core/line-ranges.js';
export { LockedError } from './core/lock-file.js';
export { closeAgents } from './core/http.js';
export { TELEMETRY } from './core/telemetry.js';
