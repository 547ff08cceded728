/**
 * One partition of an export, into a destination, resuming from the position the destination
 * saved. Engine-neutral: `exportInferenceResults` runs its partitions with it in one process, and
 * the BullMQ adapter (src/queue/) runs each as a job on whichever machine takes it. Nothing here
 * knows about queues.
 */
import { unlimitedController } from '../core/abort.js';
import { AbortError, ConfigError } from '../core/errors.js';
import { integerOption, stringOption } from '../core/options.js';
import { baseStats } from '../core/stats.js';
import type { Destination, PartitionPosition } from '../destinations/destination.js';
import { chooseDestination, type DestinationOptions } from '../destinations/index.js';
import { writePages } from '../destinations/page-loop.js';
import { withoutPassword } from '../destinations/pg-url.js';
import { PageCursor } from './cursor.js';
import { resolveInnerworksOptions, type InferenceResultsOptions, type ResolvedInnerworksOptions } from './options.js';
import type { PartitionRange } from './partition-plan.js';
import type { InferenceResultsStats } from './results-stream.js';
import type { InferenceResult } from './types.js';

/** What {@link writePartition} reads into where. */
export interface PartitionWrite {
  options: ResolvedInnerworksOptions;
  /** Aborts the request in flight and stops before the next page. */
  signal: AbortSignal;
  /** Keep polling at the end of the data (a single-cursor export with `follow`). */
  follow: boolean;
  destination: Destination;
  partition: number;
  /** Where the partition stands; advanced in place as pages are written. */
  position: PartitionPosition;
  /** The run's counters: requests, retries and bytes from the cursor, records and pages once written. */
  stats: InferenceResultsStats;
  /** When the run started (for `stats.elapsedMs`). */
  startedAt: number;
  /**
   * Called after each page is durable in the destination and counted, with the time of the last
   * record written so far (epoch ms; undefined before the first record of this run).
   */
  onPage?: (positionTime: number | undefined) => void | Promise<void>;
}

/**
 * Read a partition's pages from its saved position to its end and hand each, with the position
 * after it, to the destination. When the signal aborts, the page being written is finished
 * first (a write is never cut short), then the AbortError comes through.
 */
export async function writePartition(work: PartitionWrite): Promise<void> {
  const { options, destination, partition, position, stats } = work;
  if (position.done) return;
  const cursor = new PageCursor({
    client: options.client,
    batchSize: options.batchSize,
    // The next page downloads while this one is written: a write waits for fsync or a commit.
    prefetch: Math.max(1, options.prefetch),
    follow: work.follow,
    pollIntervalMs: options.pollIntervalMs,
    signal: work.signal,
    stats,
    startTime: position.startTime,
    endTime: position.endTime,
    checkpoint: position.checkpoint,
    // A JSONL destination takes each page as the lines the body already holds: no record objects.
    lines: typeof destination.writeLines === 'function',
  });
  // Results come in time order: the last record's time says how far into its range the
  // partition is (for `status`). Noted as the loop takes each page, read once it is written.
  let positionTime: number | undefined;
  const pages = {
    next: async () => {
      const page = await cursor.next();
      // A JSONL page comes as lines: its last one is parsed for this (one line a page).
      const last = page?.lines && page.lines.length > 0 ? (page.lines.value(page.lines.length - 1) as InferenceResult) : page?.records.at(-1);
      const time = last === undefined ? NaN : Date.parse(last.timestamp);
      if (Number.isFinite(time)) positionTime = time;
      return page;
    },
  };
  const written = async (count: number) => {
    if (count > 0) {
      stats.records += count;
      stats.pages++;
    }
    stats.elapsedMs = Date.now() - work.startedAt;
    await work.onPage?.(positionTime);
  };
  // A page cut at endTime has no checkpoint to resume from: the range is then complete.
  await writePages({ pages, destination, partition, position, written });
  if (position.endTime !== undefined && !position.done) {
    const next: PartitionPosition = { ...position, done: true };
    await destination.write(partition, [], { ...next });
    Object.assign(position, next);
    await written(0);
  }
}

/** Options of {@link exportPartition}. */
export interface ExportPartitionOptions extends Pick<InferenceResultsOptions, 'apiKey' | 'baseUrl' | 'batchSize' | 'prefetch' | 'retry' | 'timeoutMs'>, Pick<DestinationOptions, 'table' | 'keepRecord' | 'append'> {
  /**
   * The database: `postgres://USER@HOST:PORT/DB` (libpq conventions) or `duckdb:PATH`. Required:
   * only a database keeps each partition's position with its rows, so partitions run apart (in
   * other processes or machines) can each commit; a file export is finished by one
   * `exportInferenceResults` run.
   */
  to: string;
  /** The export this partition belongs to: the key of its positions in the destination. Required. */
  exportId: string;
  /** Every partition of the export (from `planPartitions`): the destination saves them all on first open. Required. */
  plan: readonly PartitionRange[];
  /** Which of them to run, 0-based. Required. */
  partition: number;
  /**
   * Stops the partition: the request in flight is dropped, a page being written is finished and
   * committed first, and the result says `stopped`. Default none.
   */
  signal?: AbortSignal;
  /**
   * Called after each committed page with the partition's position (totals over all runs), this
   * run's counters, and the time of the last record committed (epoch ms; undefined before this
   * run's first record). Default none.
   */
  onPage?: (position: Readonly<PartitionPosition>, stats: InferenceResultsStats, positionTime: number | undefined) => void | Promise<void>;
}

/** How a partition run ended. */
export interface PartitionOutcome {
  /** The partition's position now (records and pages over all runs; `done` once complete). */
  position: PartitionPosition;
  /** True when `signal` stopped it before the end; run it again to go on. */
  stopped: boolean;
  /** This run's counters. */
  stats: InferenceResultsStats;
}

/**
 * Export one partition of a planned export into its destination, exactly once: the destination
 * keeps the partition's position with its rows, so a run after a crash (on any machine, for a
 * database) resumes after the last committed page.
 */
export async function exportPartition(options: ExportPartitionOptions): Promise<PartitionOutcome> {
  const exportId = stringOption('exportId', options.exportId, true)!;
  if (!Array.isArray(options.plan) || options.plan.length === 0) throw new ConfigError('plan', 'must be a non-empty array of {startTime, endTime} (see planPartitions)');
  const partition = integerOption('partition', options.partition, 0, 0, options.plan.length - 1);
  const resolved = resolveInnerworksOptions({ apiKey: options.apiKey, baseUrl: options.baseUrl, batchSize: options.batchSize, prefetch: options.prefetch, retry: options.retry, timeoutMs: options.timeoutMs });
  const to = stringOption('to', options.to);
  if (to === undefined || !(/^postgres(ql)?:\/\//.test(to) || to.startsWith('duckdb:'))) {
    throw new ConfigError('to', 'is required: postgres://USER@HOST:PORT/DB or duckdb:PATH (a partition run alone needs a database, which keeps its position with the rows; files are exported by exportInferenceResults)', to === undefined ? undefined : withoutPassword(to));
  }
  // Only the database options: a file option given anyway (from JavaScript) is not passed on.
  const { destination, append } = chooseDestination({ to, table: options.table, keepRecord: options.keepRecord, append: options.append, exportId }, undefined);
  const stats: InferenceResultsStats = { ...baseStats(), records: 0, pages: 0 };
  const startedAt = Date.now();
  const controller = unlimitedController();
  const onStop = () => controller.abort();
  options.signal?.addEventListener('abort', onStop, { once: true });
  let position: PartitionPosition | undefined;
  try {
    const initial = options.plan.map((range) => ({ startTime: range.startTime, endTime: range.endTime, records: 0, pages: 0, done: false }));
    const opened = await destination.open({ exportId, initial, append });
    position = opened.positions[partition];
    const saved = opened.positions;
    if (saved.length !== initial.length || saved.some((p, i) => p.startTime !== initial[i].startTime || p.endTime !== initial[i].endTime)) {
      throw new ConfigError('plan', `differs from the plan saved for export ${exportId} in ${destination.description}; use the same plan or another exportId`);
    }
    if (options.signal?.aborted) controller.abort();
    const current = position;
    await writePartition({
      options: resolved,
      signal: controller.signal,
      follow: false,
      destination,
      partition,
      position: current,
      stats,
      startedAt,
      onPage: (positionTime) => options.onPage?.({ ...current }, stats, positionTime),
    });
    stats.elapsedMs = Date.now() - startedAt;
    return { position: current, stopped: false, stats };
  } catch (error) {
    // Stopped only when the abort is what ended it: a failed write after the signal fired is still a failure.
    if (options.signal?.aborted && position && isAbort(error)) {
      stats.elapsedMs = Date.now() - startedAt;
      return { position, stopped: true, stats };
    }
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onStop);
    await destination.close(false).catch(() => undefined);
  }
}

/** The error a stopped cursor or request ends with: ours, or a platform AbortError (DOMException). */
function isAbort(error: unknown): boolean {
  return error instanceof AbortError || (error instanceof Error && error.name === 'AbortError');
}
