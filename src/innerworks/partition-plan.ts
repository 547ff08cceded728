/**
 * The partition planner: a time range cut into K ranges that cursors (in one process, or BullMQ
 * jobs on many machines) can read independently. Engine-neutral: it knows time, not queues.
 */
import { ConfigError } from '../core/errors.js';
import { partitionBounds } from './options.js';

/** One partition: the results with `startTime <= timestamp < endTime`. */
export interface PartitionRange {
  startTime: number;
  endTime: number;
}

export interface PlanOptions {
  /** Start of the export, epoch ms (inclusive). */
  startTime: number;
  /** End of the export, epoch ms (exclusive). */
  endTime: number;
  /** At least this many partitions, 1..4096. */
  partitions: number;
  /** With `totalRecords`: cut further so that a partition holds about this many records. Default none. */
  recordsPerPartition?: number;
  /** The number of records in the range, when known (e.g. from an earlier export). Default unknown. */
  totalRecords?: number;
}

/** The most partitions a plan makes (BullMQ handles far more; this bounds a typo). */
export const MAX_PARTITIONS = 4096;

/**
 * K equal time ranges over [startTime, endTime), K = `partitions`, or more when `totalRecords`
 * and `recordsPerPartition` ask for smaller ones (K = ceil(total / perPartition), up to 4096).
 * Equal time is not equal records when the traffic is uneven; more, smaller partitions spread
 * such a range over the workers better, at the cost of one job (and one request tail) each.
 * Ranges never overlap and never leave a gap; a range shorter than 1 ms is never made.
 */
export function planPartitions(options: PlanOptions): PartitionRange[] {
  const { startTime, endTime } = options;
  if (!Number.isSafeInteger(startTime) || startTime < 0) throw new ConfigError('startTime', 'must be epoch milliseconds', startTime);
  if (!Number.isSafeInteger(endTime) || endTime <= startTime) throw new ConfigError('endTime', 'must be after startTime', endTime);
  if (!Number.isInteger(options.partitions) || options.partitions < 1 || options.partitions > MAX_PARTITIONS) {
    throw new ConfigError('partitions', `must be an integer from 1 to ${MAX_PARTITIONS}`, options.partitions);
  }
  let count = options.partitions;
  const { recordsPerPartition, totalRecords } = options;
  if (recordsPerPartition !== undefined || totalRecords !== undefined) {
    if (!Number.isSafeInteger(recordsPerPartition) || recordsPerPartition! < 1) throw new ConfigError('recordsPerPartition', 'must be a positive integer (with totalRecords)', recordsPerPartition);
    if (!Number.isSafeInteger(totalRecords) || totalRecords! < 0) throw new ConfigError('totalRecords', 'must be a non-negative integer (with recordsPerPartition)', totalRecords);
    count = Math.min(MAX_PARTITIONS, Math.max(count, Math.ceil(totalRecords! / recordsPerPartition!)));
  }
  const bounds = partitionBounds(startTime, endTime, count);
  return bounds.slice(1).map((end, i) => ({ startTime: bounds[i], endTime: end }));
}
