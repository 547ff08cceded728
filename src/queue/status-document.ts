/**
 * The one JSON shape of a queue's status: what `status --json` prints and what the status page's
 * `GET /status.json` serves, made here so that the two never drift apart. With an id, one job
 * (`exportStatus`); without, the queue's newest jobs (`listJobs`) and the workers serving it.
 */
import { ConfigError } from '../core/errors.js';
import { withoutPassword } from './bullmq.js';
import { readHeartbeats, type WorkerStatus } from './heartbeat.js';
import { listJobs, type QueuedJob } from './list-jobs.js';
import { readQueue } from './queue-reader.js';
import { exportStatus, type ExportStatus } from './status.js';

/** `status --id ID --json`: `command: 'status'`, the job's {@link ExportStatus}, and how long the read took. */
export type StatusDocument = { command: 'status' } & ExportStatus & {
  /** Time spent reading the status from Redis, ms. */
  elapsedMs: number;
};

/** The queue's newest jobs, newest first, and the workers serving it. */
export interface StatusListDocument {
  command: 'status';
  /** The Redis URL, its password left out. */
  queue: string;
  jobs: QueuedJob[];
  /** As in {@link ExportStatus.workers}: the workers that reported in the last few seconds. */
  workers: WorkerStatus[];
  /** Time spent reading it from Redis, ms. */
  elapsedMs: number;
}

export interface StatusDocumentOptions {
  /** Redis, `redis://HOST:PORT`. Required. */
  queue: string;
  /** One job: the id `enqueueExport` or `enqueuePredictions` returned. Default: the queue's newest jobs. */
  exportId?: string;
  /** Without `exportId`: the newest this many jobs, 1..1000. Default 20. */
  limit?: number;
  /** How long to wait for Redis to answer before failing with a ConnectionError, ms, 100..600 000. Default 10 000. */
  redisTimeoutMs?: number;
}

/** Read a job's status, or the queue's jobs, from Redis as `status --json` prints it. */
export function readStatusDocument(options: StatusDocumentOptions & { exportId: string }): Promise<StatusDocument>;
export function readStatusDocument(options: StatusDocumentOptions & { exportId?: undefined }): Promise<StatusListDocument>;
export function readStatusDocument(options: StatusDocumentOptions): Promise<StatusDocument | StatusListDocument>;
export async function readStatusDocument(options: StatusDocumentOptions): Promise<StatusDocument | StatusListDocument> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  const started = Date.now();
  if (options.exportId !== undefined) {
    const status = await exportStatus({ queue: options.queue, exportId: options.exportId, redisTimeoutMs: options.redisTimeoutMs });
    // `command` first, as in every `--json` summary; the status cannot overwrite it (it has no such field).
    return { command: 'status', ...status, elapsedMs: Date.now() - started };
  }
  const [jobs, workers] = await Promise.all([listJobs({ queue: options.queue, limit: options.limit, redisTimeoutMs: options.redisTimeoutMs }), readWorkers(options)]);
  return { command: 'status', queue: withoutPassword(options.queue), jobs, workers, elapsedMs: Date.now() - started };
}

/** The workers' records, on a connection of their own (listJobs reads the jobs on its own). */
function readWorkers(options: StatusDocumentOptions): Promise<WorkerStatus[]> {
  return readQueue(options, ({ connection }) => readHeartbeats(connection));
}
