/**
 * `exportStatus()`: where a queued export (or queued predictions, `enqueuePredictions`) stands,
 * partition by partition, read from Redis.
 */
import { ConfigError } from '../core/errors.js';
import { integerOption, stringOption } from '../core/options.js';
import { planPartitions } from '../innerworks/partition-plan.js';
import { REDIS_TIMEOUT_MS, checkRedisUrl, connect, loadQueueLibraries, reachRedis, withoutPassword } from './bullmq.js';
import { readHeartbeats, type WorkerStatus } from './heartbeat.js';
import type { ResultsAfter } from '../innerworks/results-after.js';
import { EXPORTS_QUEUE, PARTITIONS_QUEUE, QUEUE_PREFIX, isPredictJob, partitionJobId, type ExportJobData, type FinishedExport, type PartitionProgress, type PredictJobData } from './jobs.js';

/** The state of an export, or of one partition. */
export type ExportState = 'waiting' | 'active' | 'completed' | 'failed';

export interface PartitionStatus {
  partition: number;
  /** An export's: time range, epoch ms [startTime, endTime). */
  startTime?: number;
  endTime?: number;
  /** Queued predictions': byte range of the input [startByte, endByte). */
  startByte?: number;
  endByte?: number;
  state: ExportState;
  /** Records and pages written so far (all attempts together), from the last committed page. */
  records: number;
  pages: number;
  /**
   * Attempts finished so far: the failed ones, plus the one that completed the partition. A job
   * a worker handed back for a failure of its own (API or database unreachable from it, its
   * credentials refused) uses none.
   */
  attemptsMade: number;
  /** Why the last attempt failed (while it is retried, or for good when `state` is `failed`). */
  failedReason?: string;
}

export interface ExportStatus {
  exportId: string;
  /** `export` (enqueueExport) or `predict` (enqueuePredictions). */
  kind: 'export' | 'predict';
  /** Queued predictions: the input file the workers read. */
  input?: string;
  /**
   * `completed` once every partition is and the export was finished; `failed` when a partition
   * failed for good (enqueue the same export again to retry those); `active` while any partition
   * is being worked on or some are done; else `waiting`.
   */
  state: ExportState;
  records: number;
  pages: number;
  partitions: PartitionStatus[];
  /**
   * The workers serving the queue (of any export) that reported in the last few seconds, each
   * `running` or `paused` by itself with the reason: a partition waiting while every worker is
   * paused waits for their outage to end, not for its turn.
   */
  workers: WorkerStatus[];
  /**
   * A completed export's end time, and the results at or after it when it finished (one page
   * counted, `more` when it was full): what the export's end left out. Absent when none were there.
   */
  endTime?: number;
  resultsAfterEnd?: ResultsAfter;
}

export interface ExportStatusOptions {
  /** Redis, `redis://HOST:PORT`. Required. */
  queue: string;
  /** The id `enqueueExport` or `enqueuePredictions` returned. Required. */
  exportId: string;
  /** How long to wait for Redis to answer before failing with a ConnectionError, ms, 100..600 000. Default 10 000. */
  redisTimeoutMs?: number;
}

export async function exportStatus(options: ExportStatusOptions): Promise<ExportStatus> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  const queue = checkRedisUrl(options.queue);
  const exportId = stringOption('exportId', options.exportId, true)!;
  const redisTimeoutMs = integerOption('redisTimeoutMs', options.redisTimeoutMs, REDIS_TIMEOUT_MS, 100, 600_000);
  const libraries = await loadQueueLibraries();
  const { Job, Queue } = libraries.bullmq;
  const connection = connect(libraries, queue);
  await reachRedis(connection, queue, redisTimeoutMs);
  const exportsQueue = new Queue(EXPORTS_QUEUE, { connection, prefix: QUEUE_PREFIX });
  const partitionsQueue = new Queue(PARTITIONS_QUEUE, { connection, prefix: QUEUE_PREFIX });
  try {
    const parent = await Job.fromId<ExportJobData | PredictJobData>(exportsQueue, exportId);
    if (!parent) throw new ConfigError('exportId', `no export or predictions with this id in the queue at ${withoutPassword(queue)}`, exportId);
    const data = parent.data;
    const ranges: Array<Pick<PartitionStatus, 'startTime' | 'endTime' | 'startByte' | 'endByte'>> = isPredictJob(data) ? data.ranges.map((r) => ({ startByte: r.start, endByte: r.end })) : planPartitions(data.plan);
    const partitions = await Promise.all(
      ranges.map(async (range, partition): Promise<PartitionStatus> => {
        const job = await Job.fromId<unknown, PartitionProgress>(partitionsQueue, partitionJobId(exportId, partition));
        const state = job ? toState(await job.getState()) : 'waiting';
        const progress = (job?.returnvalue ?? job?.progress) as Partial<PartitionProgress> | undefined;
        return {
          partition,
          ...range,
          state,
          records: typeof progress?.records === 'number' ? progress.records : 0,
          pages: typeof progress?.pages === 'number' ? progress.pages : 0,
          attemptsMade: job?.attemptsMade ?? 0,
          ...(job?.failedReason ? { failedReason: job.failedReason } : {}),
        };
      }),
    );
    const workers = await readHeartbeats(connection);
    const parentState = toState(await parent.getState());
    const state: ExportState =
      parentState === 'completed'
        ? 'completed'
        : partitions.some((p) => p.state === 'failed')
          ? 'failed'
          : partitions.some((p) => p.state === 'active' || p.state === 'completed')
            ? 'active'
            : 'waiting';
    return {
      exportId,
      kind: isPredictJob(data) ? 'predict' : 'export',
      ...(isPredictJob(data) ? { input: data.input } : {}),
      state,
      records: partitions.reduce((sum, p) => sum + p.records, 0),
      pages: partitions.reduce((sum, p) => sum + p.pages, 0),
      partitions,
      workers,
      ...(isPredictJob(data) ? {} : { endTime: data.plan.endTime }),
      ...(parentState === 'completed' && (parent.returnvalue as FinishedExport | null)?.resultsAfterEnd ? { resultsAfterEnd: (parent.returnvalue as FinishedExport).resultsAfterEnd } : {}),
    };
  } finally {
    await Promise.allSettled([exportsQueue.close(), partitionsQueue.close()]);
    connection.disconnect();
  }
}

/** BullMQ's many job states in the four an export reports. */
function toState(state: string): ExportState {
  if (state === 'completed' || state === 'failed' || state === 'active') return state;
  return 'waiting';
}
