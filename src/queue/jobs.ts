/**
 * What a scale-out export puts in Redis: queue names, job ids derived from the export's
 * parameters (so enqueueing the same export twice adds nothing), and the job data. The data holds
 * no credential: workers read the Innerworks key and the database password from their own
 * environment.
 */
import { createHash } from 'node:crypto';
import type { PlanOptions } from '../innerworks/partition-plan.js';

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
  records: number;
  pages: number;
  done: boolean;
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
