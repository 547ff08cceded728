/**
 * How far a queued job has come and how fast: the share of each partition's range covered, the
 * records per second, and the time left. Pure arithmetic over what `status` read from Redis, so
 * that `exportStatus`, `listJobs` and the status page say the same.
 */

/** What a partition's measures are computed from. */
export interface PartitionFacts {
  state: 'waiting' | 'active' | 'completed' | 'failed';
  records: number;
  done: boolean;
  /** An export's time range [startTime, endTime), and how far into it the partition got. */
  startTime?: number;
  endTime?: number;
  positionTime?: number;
  /** Queued predictions': the byte range of the input, and how far into it the partition got. */
  startByte?: number;
  endByte?: number;
  positionByte?: number;
}

/**
 * The share of a partition's range it has covered, 0..1, or undefined when it cannot be known (a
 * partition with records but no position: reported by a worker older than the position fields).
 * A completed partition has covered all of it, one with no record yet none.
 */
export function partitionShare(p: PartitionFacts): number | undefined {
  if (p.state === 'completed' || p.done) return 1;
  if (p.positionTime !== undefined && p.startTime !== undefined && p.endTime !== undefined && p.endTime > p.startTime) return clamp((p.positionTime - p.startTime) / (p.endTime - p.startTime));
  if (p.positionByte !== undefined && p.startByte !== undefined && p.endByte !== undefined && p.endByte > p.startByte) return clamp((p.positionByte - p.startByte) / (p.endByte - p.startByte));
  if (p.records === 0) return 0;
  return undefined;
}

/** A partition's size, the weight of its share in the job's: milliseconds of its time range, or bytes of its input range. */
export function partitionSize(p: PartitionFacts): number {
  if (p.startTime !== undefined && p.endTime !== undefined) return Math.max(0, p.endTime - p.startTime);
  if (p.startByte !== undefined && p.endByte !== undefined) return Math.max(0, p.endByte - p.startByte);
  return 0;
}

/** The job's share: its partitions' shares weighted by their size; undefined when any is unknown. */
export function jobShare(partitions: readonly PartitionFacts[]): number | undefined {
  const shares = partitions.map(partitionShare);
  if (partitions.length === 0 || shares.some((share) => share === undefined)) return undefined;
  const sizes = partitions.map(partitionSize);
  const total = sizes.reduce((sum, size) => sum + size, 0);
  // Only empty ranges (a zero-length input, say): each partition counts the same.
  if (total === 0) return shares.reduce<number>((sum, share) => sum + share!, 0) / shares.length;
  return shares.reduce<number>((sum, share, i) => sum + share! * sizes[i], 0) / total;
}

/**
 * A share as a percentage with one decimal, rounded down: 100 only once `done`, so that a job one
 * record short of its end never reads 100 %.
 */
export function toPercent(share: number, done: boolean): number {
  if (done) return 100;
  return Math.min(99.9, Math.floor(share * 1000) / 10);
}

/** Records per second over `[startedAt, endedAt)`, one decimal; undefined before the start. */
export function recordsPerSecond(records: number, startedAt: number | undefined, endedAt: number): number | undefined {
  if (startedAt === undefined || endedAt <= startedAt) return undefined;
  return Math.round((records / ((endedAt - startedAt) / 1000)) * 10) / 10;
}

/**
 * The time left, ms, if the rest goes at the pace so far: the time worked on (`now - startedAt`)
 * times the share left over the share done. Undefined before anything is done (no pace yet).
 */
export function etaMs(share: number, startedAt: number | undefined, now: number): number | undefined {
  if (startedAt === undefined || share <= 0 || now <= startedAt) return undefined;
  if (share >= 1) return 0;
  return Math.round(((now - startedAt) * (1 - share)) / share);
}

function clamp(share: number): number {
  return Number.isFinite(share) ? Math.min(1, Math.max(0, share)) : 0;
}
