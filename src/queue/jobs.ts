/**
 * What a scale-out export puts in Redis: queue names, job ids derived from the export's
 * parameters (so enqueueing the same export twice adds nothing), and the job data. The data holds
 * no credential: workers read the Innerworks key and the database password from their own
 * environment.
 */
import { createHash } from 'node:crypto';
import type { FileIdentity } from '../core/file-identity.js';
import type { LineRange } from '../core/line-ranges.js';
import type { PlanOptions } from '../innerworks/partition-plan.js';
import type { ResultsAfter } from '../innerworks/results-after.js';
import type { LabelRequest, ModelVersion } from '../reinfer/types.js';

/** BullMQ key prefix of every queue of this library. */
export const QUEUE_PREFIX = 'inference-streams';
/** The queue of partition jobs (the children). */
export const PARTITIONS_QUEUE = 'export-partitions';
/** The queue of the jobs that finish an export once its partitions are done (the parents). */
export const EXPORTS_QUEUE = 'exports';

/** Where the rows land, without secrets. */
export interface QueueTarget {
  /** `postgres://USER@HOST:PORT/DATABASE`, with `?sslmode=…&connect_timeout=…` when the enqueuer set them: never a password. */
  to: string;
  table: string;
  keepRecord?: boolean;
  /** Add to a table that holds other rows (see `DestinationOptions.append`); not part of the export id. */
  append?: boolean;
}

/** The data of an export's parent job; each partition job has the same plus its index. */
export interface ExportJobData {
  exportId: string;
  plan: PlanOptions;
  /** The number of partitions the plan makes. */
  partitions: number;
  target: QueueTarget;
  /** Innerworks base URL; undefined: each worker's `INNERWORKS_BASE_URL` (or production). */
  baseUrl?: string;
  batchSize?: number;
}

export interface PartitionJobData extends ExportJobData {
  partition: number;
  /** Times workers handed this job back for a failure not charged to it, since it last made progress (see hand-back.ts). */
  handBacks?: number;
  /** When the first of those hand-backs was, epoch ms. */
  firstHandBackAt?: number;
}

/** What a partition job reports with `updateProgress` after each committed page, and returns. */
export interface PartitionProgress {
  /** Records committed to the database for this partition, all attempts together. */
  records: number;
  /** Non-empty pages committed, all attempts together. */
  pages: number;
  /** The partition's range is complete. */
  done: boolean;
  /**
   * An export's: the time of the last record committed, epoch ms (results come in time order, so
   * the partition has covered its time range up to here). Absent before its first record, and
   * from workers older than this field.
   */
  positionTime?: number;
  /**
   * Queued predictions': the byte offset in the input where the next uncommitted line starts.
   * Absent before the first committed page, and from workers older than this field.
   */
  positionByte?: number;
  /**
   * When a worker first took this partition, epoch ms, kept over attempts and hand-backs (BullMQ's
   * own `processedOn` is reset by each). Absent from workers older than this field.
   */
  startedAt?: number;
}

/** What the job that finishes an export returns (its BullMQ return value, read by `exportStatus`). */
export interface FinishedExport {
  records: number;
  pages: number;
  partitions: number;
  /** Results at or after the export's end time when it finished (one page counted); absent when none. */
  resultsAfterEnd?: ResultsAfter;
}

/**
 * An export's id: a hash of what it exports and where, so the same export always gets the same
 * id. `keepRecord` is part of it: it changes the table's columns, so it makes another export.
 */
export function deriveExportId(data: Omit<ExportJobData, 'exportId' | 'partitions'>): string {
  const identity = JSON.stringify([1, data.plan.startTime, data.plan.endTime, data.plan.partitions, data.plan.recordsPerPartition ?? null, data.plan.totalRecords ?? null, data.target.to, data.target.table, data.baseUrl ?? null, data.target.keepRecord === true]);
  return `exp-${createHash('sha256').update(identity).digest('hex').slice(0, 16)}`;
}

/** The parent job's id is the export id; partition i's is `ID-p<i>`. */
export const partitionJobId = (exportId: string, partition: number) => `${exportId}-p${partition}`;

/**
 * How the workers call the model for queued predictions: everything but the token, which each
 * worker reads from its own `REINFER_TOKEN`.
 */
export interface QueuedPredictSettings {
  /** Tenant endpoint; undefined: each worker's `REINFER_ENDPOINT`. */
  endpoint?: string;
  project: string;
  dataset: string;
  version?: ModelVersion;
  mode: 'documents' | 'rawEmails' | 'comments';
  transformTag?: string;
  includeComments?: boolean;
  threshold?: number | 'auto';
  labels?: LabelRequest[];
  columns?: string[];
  idField?: string;
  keepInput?: boolean;
  skipInvalid?: boolean;
  batchSize?: number;
  concurrency?: number | 'auto';
  maxConcurrency?: number;
  timeoutMs?: number;
}

/** The data of queued predictions' parent job; each partition job has the same plus its index. */
export interface PredictJobData {
  kind: 'predict';
  /** The predictions' id (`prd-…`), the key of their positions in the database. */
  exportId: string;
  partitions: number;
  /** The JSONL input, an absolute path every worker can read (a shared volume). */
  input: string;
  /** The input as planned: a worker that finds another file there refuses the job. */
  identity: FileIdentity;
  /** Byte range of each partition (line starts). */
  ranges: LineRange[];
  target: QueueTarget;
  predict: QueuedPredictSettings;
}

export interface PredictPartitionJobData extends PredictJobData {
  partition: number;
}

/** True for the jobs of queued predictions (export jobs carry no `kind`). */
export function isPredictJob(data: object): data is PredictJobData {
  return (data as { kind?: unknown }).kind === 'predict';
}

/**
 * Queued predictions' id: a hash of the input file (path and identity), the partition count, the
 * database and table, and the settings that decide the rows; the same predictions get the same id.
 * Concurrency and timeouts are not part of it (they change how, not what).
 */
export function derivePredictionsId(data: Omit<PredictJobData, 'exportId' | 'partitions' | 'ranges'> & { partitions: number }): string {
  const { concurrency: _c, maxConcurrency: _m, timeoutMs: _t, ...what } = data.predict;
  const identity = JSON.stringify([1, data.input, data.identity, data.partitions, data.target.to, data.target.table, what]);
  return `prd-${createHash('sha256').update(identity).digest('hex').slice(0, 16)}`;
}
