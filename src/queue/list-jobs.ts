/**
 * `listJobs()`: the exports and predictions in a queue, newest first, so that an id need not be
 * kept (nor Redis scanned) to find a job again. Reads the parent jobs through BullMQ's own state
 * lists (`Queue.getJobs`), one per export or predictions, never the key space by pattern; then the
 * partitions of the listed ones only.
 */
import type { Job } from 'bullmq';
import { ConfigError } from '../core/errors.js';
import { integerOption } from '../core/options.js';
import { checkRedisUrl } from './bullmq.js';
import type { ExportJobData, PredictJobData } from './jobs.js';
import { readQueue } from './queue-reader.js';
import { readJob, type ExportState, type JobTiming } from './status.js';

/** Options of {@link listJobs}. */
export interface ListJobsOptions {
  /** Redis, `redis://[:PASSWORD@]HOST:PORT[/DB]`. Required. */
  queue: string;
  /** The newest this many jobs, 1..1000. Default 20. */
  limit?: number;
  /** How long to wait for Redis to answer before failing with a ConnectionError, ms, 100..600 000. Default 10 000. */
  redisTimeoutMs?: number;
}

/** One job of the queue, as {@link listJobs} lists it (`exportStatus` with its id tells more). */
export interface QueuedJob extends JobTiming {
  /** The id `status` takes: `exp-…` for an export, `prd-…` for predictions. */
  id: string;
  /** `export` (enqueueExport) or `predict` (enqueuePredictions). */
  kind: 'export' | 'predict';
  /** As `exportStatus` says it: `waiting`, `active`, `completed` or `failed`. */
  state: ExportState;
  /** Records committed so far, every partition and attempt together. */
  records: number;
  /** Non-empty pages committed so far. */
  pages: number;
  /** How many partitions (jobs) the export or predictions were cut into. */
  partitionCount: number;
  /** Partitions that failed for good (enqueue the same job again to retry them). */
  failedPartitions: number;
  /** The database the rows go to, `postgres://USER@HOST:PORT/DATABASE`: never a password. */
  to: string;
  /** The table the rows go to. */
  table: string;
  /** Queued predictions: the input file the workers read. */
  input?: string;
  /** An export's: start of its time range (inclusive), epoch ms. */
  startTime?: number;
  /** An export's: end of its time range (exclusive), epoch ms. */
  endTime?: number;
}

/**
 * The jobs in the queue, newest (by `createdAt`) first, at most `limit`. Each is read as
 * `exportStatus` reads it (its partitions included), without the workers.
 */
export async function listJobs(options: ListJobsOptions): Promise<QueuedJob[]> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  checkRedisUrl(options.queue);
  const limit = integerOption('limit', options.limit, 20, 1, 1000);
  return readQueue(options, async ({ Job, exportsQueue, partitionsQueue }) => {
    // Every state a parent job can be in: waiting for its partitions, then finishing, then done.
    // The lists are ordered by state, not creation: all are read (one small hash per job), then sorted.
    const parents = (await exportsQueue.getJobs(['waiting-children', 'waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'])) as Array<Job<ExportJobData | PredictJobData>>;
    const newest = parents
      .filter((job) => job.id !== undefined && typeof job.data === 'object' && job.data !== null)
      .sort((a, b) => b.timestamp - a.timestamp || (b.id! < a.id! ? -1 : 1))
      .slice(0, limit);
    const now = Date.now();
    const read = await Promise.all(newest.map((parent) => readJob(Job, partitionsQueue, parent, now)));
    return read.map(({ exportId, partitions, ...job }, i) => ({
      id: exportId,
      ...job,
      partitionCount: partitions.length,
      failedPartitions: partitions.filter((p) => p.state === 'failed').length,
      to: newest[i].data.target.to,
      table: newest[i].data.target.table,
    }));
  });
}
