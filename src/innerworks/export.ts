/**
 * `exportInferenceResults()`: exactly-once export of every inference result to a destination
 * (`src/destinations/`): a JSONL, CSV or Parquet file, or a DuckDB or PostgreSQL table. The
 * export hands each page, with the cursor position after it, to the destination, which makes
 * both durable together; a restart asks the destination for the saved positions and resumes
 * from them, so after any number of crashes every record is there exactly once (a JSONL file is
 * byte-identical to a one-shot export).
 *
 * With `partitions` > 1 each time range is read by its own cursor, all in parallel, each with
 * its own saved position.
 */
import { unlimitedController } from '../core/abort.js';
import { AbortError, ConfigError } from '../core/errors.js';
import { baseStats } from '../core/stats.js';
import type { ClosedDestination, Destination, PartitionPosition } from '../destinations/destination.js';
import { chooseDestination, type DestinationOptions } from '../destinations/index.js';
import { writePartition } from './export-partition.js';
import { resolveInnerworksOptions, type InferenceResultsOptions, type ResolvedInnerworksOptions } from './options.js';
import { planPartitions } from './partition-plan.js';
import type { InferenceResultsStats } from './results-stream.js';
import { counted } from '../core/plural.js';

/** Where an export stands, earlier (resumed) runs included: passed to `onStart` and `onProgress`. */
export interface ExportStanding {
  /** True when an earlier run's saved positions were found and are resumed. */
  resumed: boolean;
  /** Records written so far, all runs together. */
  records: number;
  /** Each partition's saved position, updated as pages are written (read-only for the caller). */
  positions: readonly Readonly<PartitionPosition>[];
}

/** Options of {@link exportInferenceResults}: those of `inferenceResults()` plus where the records land. */
export interface ExportInferenceResultsOptions extends InferenceResultsOptions, DestinationOptions {
  /** Called after each page with the counters of this run, and where the whole export stands. Default none. */
  onProgress?: (stats: InferenceResultsStats, standing: ExportStanding) => void;
  /** Called once the destination is open (its saved positions read), before the first request. Default none. */
  onStart?: (standing: ExportStanding) => void;
}

/** What an export wrote. Totals cover the whole output, earlier (resumed) runs included. */
export interface ExportSummary {
  /** The files written: `[file]`, the part files (`split`, a Parquet directory), or none for a database. */
  files: string[];
  /** Results written. */
  records: number;
  /** Non-empty pages written. */
  pages: number;
  /** Size of the file(s) in bytes (0 for a database). */
  bytes: number;
  /** Checkpoint after the last record (undefined for a partitioned or `endTime`-bounded export). */
  checkpoint: string | undefined;
  /** True when an earlier run's state was found and resumed. */
  resumed: boolean;
  /** Results written by this run. */
  recordsThisRun: number;
  /** HTTP requests and retries of this run. */
  requests: number;
  retries: number;
  /** Duration of this run, ms. */
  elapsedMs: number;
}

/**
 * Export every inference result (from `startTime`, or after `checkpoint`) to `file` as JSONL,
 * exactly once across crashes and restarts. Running it again after it finished resumes from the
 * last checkpoint and appends only newer results.
 */
export async function exportInferenceResults(options: ExportInferenceResultsOptions): Promise<ExportSummary> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new ConfigError('onProgress', 'must be a function', options.onProgress);
  if (options.onStart !== undefined && typeof options.onStart !== 'function') throw new ConfigError('onStart', 'must be a function', options.onStart);
  const resolved = resolveInnerworksOptions(options);
  const { destination, exportId, append } = chooseDestination(options, options.signal);
  return new ExportRun(resolved, destination, options).run(exportId, append);
}

class ExportRun {
  private readonly stats: InferenceResultsStats = { ...baseStats(), records: 0, pages: 0 };
  private readonly startedAt = Date.now();
  private readonly controller = unlimitedController();

  constructor(
    private readonly options: ResolvedInnerworksOptions,
    private readonly destination: Destination,
    private readonly hooks: Pick<ExportInferenceResultsOptions, 'onProgress' | 'onStart'>,
  ) {}

  private standing: ExportStanding = { resumed: false, records: 0, positions: [] };

  async run(exportId: string, append: boolean): Promise<ExportSummary> {
    const { startTime, endTime, checkpoint, partitions } = this.options;
    const initial: PartitionPosition[] =
      partitions > 1
        ? planPartitions({ startTime: startTime!, endTime: endTime!, partitions }).map((range) => ({ ...range, records: 0, pages: 0, done: false }))
        : [{ startTime, endTime, checkpoint, records: 0, pages: 0, done: false }];
    let positions: PartitionPosition[] = [];
    let resumed = false;
    let closed: ClosedDestination;
    try {
      await this.withSignal(async () => {
        ({ positions, resumed } = await this.destination.open({ exportId, initial, append }));
        this.check(positions, initial);
        this.standing = { resumed, records: 0, positions };
        this.hooks.onStart?.(this.currentStanding());
        const follow = partitions === 1 && this.options.follow;
        // One failed range stops the others; the saved positions resume all of them. Wait for
        // every range to settle before closing: a sibling may still be inside destination.write.
        let first: { error: unknown } | undefined;
        await Promise.allSettled(
          positions.map((position, i) =>
            this.runPartition(i, position, follow).catch((error: unknown) => {
              // The first error is the one to report; the others are mostly the aborts it caused.
              first ??= { error };
              this.controller.abort();
            }),
          ),
        );
        if (first) throw first.error;
      });
    } catch (error) {
      // Just release, keeping everything resumable; the first error is the one to report.
      await this.destination.close(false).catch(() => undefined);
      throw error;
    }
    // Finish (join part files, merge Parquet parts) only after a clean end.
    closed = await this.destination.close(true);
    return {
      files: closed.files,
      records: positions.reduce((sum, part) => sum + part.records, 0),
      pages: positions.reduce((sum, part) => sum + part.pages, 0),
      bytes: closed.bytes,
      checkpoint: partitions === 1 && !positions[0].done ? positions[0].checkpoint : undefined,
      resumed,
      recordsThisRun: this.stats.records,
      requests: this.stats.requests,
      retries: this.stats.retries,
      elapsedMs: Date.now() - this.startedAt,
    };
  }

  /** The standing with its record count summed now. */
  private currentStanding(): ExportStanding {
    const { resumed, positions } = this.standing;
    return { resumed, positions, records: positions.reduce((sum, part) => sum + part.records, 0) };
  }

  /** Saved positions must be of this export: the same partitions and time bounds. */
  private check(positions: readonly PartitionPosition[], initial: readonly PartitionPosition[]): void {
    const where = this.destination.description;
    if (positions.length !== initial.length) {
      throw new ConfigError('partitions', `the export being resumed (${where}) has ${counted(positions.length, 'partition')}; pass the same number or start over`, initial.length);
    }
    for (const position of positions) {
      const ok = typeof position === 'object' && position !== null && Number.isSafeInteger(position.records) && Number.isSafeInteger(position.pages) && (position.checkpoint === undefined || typeof position.checkpoint === 'string');
      if (!ok) throw new Error(`The saved state of ${where} is not an Innerworks export state; start over`);
    }
    // endTime defaults to "now" with partitions, so only an explicit startTime can be compared there.
    const saved = { startTime: positions[0].startTime, endTime: positions.at(-1)!.endTime };
    sameBounds(saved, this.options, where, initial.length === 1);
  }

  /** Run one partition's cursor until its end (or abort), handing every page to the destination. */
  private runPartition(partition: number, position: PartitionPosition, follow: boolean): Promise<void> {
    return writePartition({
      options: this.options,
      signal: this.controller.signal,
      follow,
      destination: this.destination,
      partition,
      position,
      stats: this.stats,
      startedAt: this.startedAt,
      onPage: () => this.hooks.onProgress?.(this.stats, this.currentStanding()),
    });
  }

  /** Abort the run's requests when the caller's signal fires, and fail with AbortError. */
  private async withSignal<T>(work: () => Promise<T>): Promise<T> {
    const signal = this.options.signal;
    if (signal?.aborted) throw new AbortError('export aborted before it started', { cause: signal.reason });
    const onAbort = () => this.controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await work();
    } catch (error) {
      if (signal?.aborted && !(error instanceof AbortError)) throw new AbortError('export aborted', { cause: error });
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** A resumed export must cover the range it was started with: refuse other bounds rather than ignore them. */
function sameBounds(saved: { startTime?: number; endTime?: number }, options: ResolvedInnerworksOptions, path: string, compareEnd: boolean): void {
  const differs = (name: 'startTime' | 'endTime') => options[name] !== undefined && saved[name] !== options[name];
  for (const name of compareEnd ? (['startTime', 'endTime'] as const) : (['startTime'] as const)) {
    if (differs(name)) {
      const was = saved[name] === undefined ? 'none' : new Date(saved[name]!).toISOString();
      throw new ConfigError(name, `differs from the export being resumed (${was}, in ${path}); pass the same value or start over (delete its state)`, new Date(options[name]!).toISOString());
    }
  }
}
