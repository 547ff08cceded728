/**
 * The one JSON shape of a queued job's status: what `status --json` prints and what the status
 * page's `GET /status.json` serves, made by one function so that the two never drift apart.
 */
import { exportStatus, type ExportStatus } from './status.js';

/** `status --json`: `command: 'status'`, the job's {@link ExportStatus}, and how long the read took. */
export type StatusDocument = { command: 'status' } & ExportStatus & {
  /** Time spent reading the status from Redis, ms. */
  elapsedMs: number;
};

export interface StatusDocumentOptions {
  /** Redis, `redis://HOST:PORT`. Required. */
  queue: string;
  /** The id `enqueueExport` or `enqueuePredictions` returned. Required. */
  exportId: string;
  /** How long to wait for Redis to answer before failing with a ConnectionError, ms, 100..600 000. Default 10 000. */
  redisTimeoutMs?: number;
}

/** Read a job's status from Redis as the {@link StatusDocument} `status --json` prints. */
export async function readStatusDocument(options: StatusDocumentOptions): Promise<StatusDocument> {
  const started = Date.now();
  const status = await exportStatus(options);
  // `command` first, as in every `--json` summary; the status cannot overwrite it (it has no such field).
  return { command: 'status', ...status, elapsedMs: Date.now() - started };
}
