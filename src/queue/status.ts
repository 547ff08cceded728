/**
 * `exportStatus()`: where a queued export (or queued predictions, `enqueuePredictions`) stands,
 * partition by partition, read from Redis.
 */
import { ConfigError } from '../core/errors.js';
import { stringOption } from '../core/options.js';
import { planPartitions } from '../innerworks/partition-plan.js';
import { checkRedisUrl, withoutPassword, type BullmqModule } from './bullmq.js';
import { readHeartbeats, type WorkerStatus } from './heartbeat.js';
import type { ResultsAfter } from '../innerworks/results-after.js';
import type { Job as BullJob } from 'bullmq';
import { etaMs, jobShare, partitionShare, recordsPerSecond, toPercent } from './job-measures.js';
import { readQueue } from './queue-reader.js';
import { isPredictJob, partitionJobId, type ExportJobData, type FinishedExport, type PartitionProgress, type PredictJobData } from './jobs.js';

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
  /**
   * When a worker first took the partition, epoch ms (kept over attempts and hand-backs). Absent
   * while no worker has.
   */
  startedAt?: number;
  /** When the partition completed or failed for good, epoch ms. Absent before. */
  finishedAt?: number;
  /** An export's: the time of the last record committed, epoch ms (how far into its time range it got). */
  positionTime?: number;
  /** Queued predictions': the byte offset in the input where the next uncommitted line starts. */
  positionByte?: number;
  /**
   * Share of the partition's range covered, 0..100 with one decimal, rounded down (100 only once
   * completed): of its time range up to `positionTime` for an export, of its bytes up to
   * `positionByte` for predictions. Absent when unknown (records reported by an older worker
   * without a position).
   */
  percent?: number;
  /** Records per second since `startedAt` (to `finishedAt`, or now), one decimal. Absent before it started. */
  recordsPerSecond?: number;
}

/**
 * When a queued job was made and worked on, how fast it goes and how much is left: shared by
 * {@link ExportStatus} and the entries of `listJobs`.
 */
export interface JobTiming {
  /** When the job was enqueued, epoch ms. */
  createdAt: number;
  /** When a worker first took one of its partitions, epoch ms. Absent while none has. */
  startedAt?: number;
  /**
   * When it ended, epoch ms: completed (the finishing job ran), or failed (the last partition
   * that failed for good). Absent while it runs or waits.
   */
  finishedAt?: number;
  /**
   * Records committed per second of the time the job has been worked on: all records (every
   * partition, every attempt) over the wall time from `startedAt` to `finishedAt` (or to now while
   * it runs), one decimal. Time no worker served the queue counts too: it is the rate the job
   * actually goes at. Absent before `startedAt`.
   */
  recordsPerSecond?: number;
  /**
   * How much of the job is done, 0..100 with one decimal, rounded down (100 only once completed):
   * the partitions' shares of their ranges (see {@link PartitionStatus.percent}) weighted by the
   * ranges' sizes. For an export that is the share of the time range covered, which equals the
   * share of records only when they are spread evenly over time. Absent when a partition's share
   * is unknown.
   */
  percent?: number;
  /**
   * Time left, ms, if the rest goes at the pace so far: time worked on × share left ÷ share done.
   * 0 once completed; absent when `percent` is, before anything is done, and once the job failed.
   */
  etaMs?: number;
}

export interface ExportStatus extends JobTiming {
  exportId: string;
  /** `export` (enqueueExport) or `predict` (enqueuePredictions). */
  kind: 'export' | 'predict';
  /** Queued predictions: the input file the workers read. */
  input?: string;
  /** An export's: start of its time range (inclusive), epoch ms. */
  startTime?: number;
  /** An export's: end of its time range (exclusive), epoch ms. */
  endTime?: number;
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
   * A completed export's results at or after its `endTime` when it finished (one page counted,
   * `more` when it was full): what the export's end left out. Absent when none were there.
   */
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
  checkRedisUrl(options.queue);
  const exportId = stringOption('exportId', options.exportId, true)!;
  return readQueue(options, async ({ queue, Job, connection, exportsQueue, partitionsQueue }) => {
    const parent = await Job.fromId<ExportJobData | PredictJobData>(exportsQueue, exportId);
    if (!parent) throw new ConfigError('exportId', `no export or predictions with this id in the queue at ${withoutPassword(queue)}`, exportId);
    const job = await readJob(Job, partitionsQueue, parent, Date.now());
    return { ...job, workers: await readHeartbeats(connection) };
  });
}

/** A parent job (an export or predictions) as a parent job and its partition jobs say, at `now`. */
export async function readJob(Job: BullmqModule['Job'], partitionsQueue: BullmqModule['Queue']['prototype'], parent: BullJob<ExportJobData | PredictJobData>, now: number): Promise<Omit<ExportStatus, 'workers'>> {
  const data = parent.data;
  const exportId = parent.id ?? data.exportId;
  const ranges: Array<Pick<PartitionStatus, 'startTime' | 'endTime' | 'startByte' | 'endByte'>> = isPredictJob(data) ? data.ranges.map((r) => ({ startByte: r.start, endByte: r.end })) : planPartitions(data.plan);
  const partitions = await Promise.all(ranges.map((range, partition) => readPartition(Job, partitionsQueue, partitionJobId(exportId, partition), partition, range, now)));
  const parentState = toState(await parent.getState());
  const state: ExportState =
    parentState === 'completed'
      ? 'completed'
      : partitions.some((p) => p.state === 'failed')
        ? 'failed'
        : partitions.some((p) => p.state === 'active' || p.state === 'completed')
          ? 'active'
          : 'waiting';
  const records = partitions.reduce((sum, p) => sum + p.records, 0);
  const startedAt = earliest(partitions.map((p) => p.startedAt));
  const finishedAt = state === 'completed' ? (parent.finishedOn ?? latest(partitions.map((p) => p.finishedAt))) : state === 'failed' ? latest(partitions.filter((p) => p.state === 'failed').map((p) => p.finishedAt)) : undefined;
  const share = jobShare(partitions.map((p) => ({ ...p, done: p.percent === 100 })));
  const rate = recordsPerSecond(records, startedAt, finishedAt ?? now);
  const eta = share === undefined || state === 'failed' ? undefined : state === 'completed' ? 0 : etaMs(share, startedAt, now);
  return {
    exportId,
    kind: isPredictJob(data) ? 'predict' : 'export',
    ...(isPredictJob(data) ? { input: data.input } : { startTime: data.plan.startTime, endTime: data.plan.endTime }),
    state,
    records,
    pages: partitions.reduce((sum, p) => sum + p.pages, 0),
    partitions,
    createdAt: parent.timestamp,
    ...(startedAt === undefined ? {} : { startedAt }),
    ...(finishedAt === undefined ? {} : { finishedAt }),
    ...(rate === undefined ? {} : { recordsPerSecond: rate }),
    ...(share === undefined ? {} : { percent: toPercent(share, state === 'completed') }),
    ...(eta === undefined ? {} : { etaMs: eta }),
    ...(parentState === 'completed' && (parent.returnvalue as FinishedExport | null)?.resultsAfterEnd ? { resultsAfterEnd: (parent.returnvalue as FinishedExport).resultsAfterEnd } : {}),
  };
}

async function readPartition(Job: BullmqModule['Job'], partitionsQueue: BullmqModule['Queue']['prototype'], jobId: string, partition: number, range: Pick<PartitionStatus, 'startTime' | 'endTime' | 'startByte' | 'endByte'>, now: number): Promise<PartitionStatus> {
  const job = await Job.fromId<unknown, PartitionProgress>(partitionsQueue, jobId);
  const state = job ? toState(await job.getState()) : 'waiting';
  // A completed job's return value is its last progress; while it runs, the progress.
  const progress = (job?.returnvalue ?? job?.progress) as Partial<PartitionProgress> | undefined;
  const reported = typeof progress === 'object' && progress !== null ? progress : {};
  const records = numberOr(reported.records, 0);
  const startedAt = numberOr(reported.startedAt, job?.processedOn ?? undefined);
  const finishedAt = state === 'completed' || state === 'failed' ? (job?.finishedOn ?? undefined) : undefined;
  const positionTime = numberOr(reported.positionTime, undefined);
  const positionByte = numberOr(reported.positionByte, undefined);
  const share = partitionShare({ ...range, state, records, done: reported.done === true, positionTime, positionByte });
  const rate = recordsPerSecond(records, startedAt, finishedAt ?? now);
  return {
    partition,
    ...range,
    state,
    records,
    pages: numberOr(reported.pages, 0),
    attemptsMade: job?.attemptsMade ?? 0,
    ...(job?.failedReason ? { failedReason: job.failedReason } : {}),
    ...(startedAt === undefined ? {} : { startedAt }),
    ...(finishedAt === undefined ? {} : { finishedAt }),
    ...(positionTime === undefined ? {} : { positionTime }),
    ...(positionByte === undefined ? {} : { positionByte }),
    ...(share === undefined ? {} : { percent: toPercent(share, state === 'completed' || reported.done === true) }),
    ...(rate === undefined ? {} : { recordsPerSecond: rate }),
  };
}

/** BullMQ's many job states in the four an export reports. */
export function toState(state: string): ExportState {
  if (state === 'completed' || state === 'failed' || state === 'active') return state;
  return 'waiting';
}

function numberOr<T extends number | undefined>(value: unknown, fallback: T): number | T {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function earliest(times: ReadonlyArray<number | undefined>): number | undefined {
  const known = times.filter((t): t is number => t !== undefined);
  return known.length === 0 ? undefined : Math.min(...known);
}

function latest(times: ReadonlyArray<number | undefined>): number | undefined {
  const known = times.filter((t): t is number => t !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
}
