/**
 * `inferenceResults()`: an objectMode Readable of `InferenceResult` that follows checkpoints.
 * It holds no HTTP code: pages come from `PageCursor`s (one, or one per time partition).
 */
import { Readable } from 'node:stream';
import { streamSignal } from '../core/abort.js';
import { baseStats, type BaseStats } from '../core/stats.js';
import { PageCursor } from './cursor.js';
import { partitionBounds, resolveInnerworksOptions, type InferenceResultsOptions, type ResolvedInnerworksOptions } from './options.js';
import type { InferenceResult } from './types.js';

/** Counters of an Innerworks read (`stream.stats`, the `'progress'` event, export summaries). */
export interface InferenceResultsStats extends BaseStats {
  /** Results emitted. */
  records: number;
  /** Non-empty pages emitted. */
  pages: number;
}

/** The `'page'` event's argument: where a page ends, in records read, and the position after it. */
export interface PageBoundary {
  /** Records the stream has emitted once this page's last record is read (a running total). */
  records: number;
  /**
   * The checkpoint after this page: once the consumer has handled `records` records, a new
   * `inferenceResults({checkpoint})` yields exactly the rest. Undefined for a page cut at
   * `endTime` (the stream ends after it) and with `partitions` > 1.
   */
  checkpoint: string | undefined;
}

/**
 * The Readable returned by {@link inferenceResults}. Events besides the usual ones:
 * `'page' (boundary)` when a page's records are pushed (see {@link PageBoundary}: a consumer
 * that writes records elsewhere knows which checkpoint matches what it has written),
 * `'checkpoint' (checkpoint, recordsSoFar)` once every record of a page has been read by the
 * consumer, and `'progress' (stats)` after each page.
 */
export class InferenceResultsStream extends Readable {
  /**
   * The checkpoint after the last page whose records have all been read by the consumer: a new
   * `inferenceResults({checkpoint})` yields exactly the rest. Undefined until the first page
   * (and always with `partitions` > 1, whose positions are not one checkpoint).
   */
  checkpoint: string | undefined;
  readonly stats: InferenceResultsStats = { ...baseStats(), records: 0, pages: 0 };

  private readonly controller = new AbortController();
  private readonly cursors: PageCursor[];
  private current = 0;
  private reading = false;
  private pending: { checkpoint: string | undefined } | undefined;
  private startedAt = 0;

  constructor(options: ResolvedInnerworksOptions) {
    // highWaterMark 0: _read is called only when the consumer has taken every record pushed,
    // which is what makes `checkpoint` exact and bounds memory to one page plus `prefetch`.
    super({ objectMode: true, highWaterMark: 0 });
    this.checkpoint = options.checkpoint;
    // Cursors listen to the stream's own signal, which destroy() and the caller's abort fire.
    streamSignal(this, this.controller, options.signal, 'inferenceResults');
    const cursorOptions = {
      client: options.client,
      batchSize: options.batchSize,
      prefetch: options.prefetch,
      follow: options.follow,
      pollIntervalMs: options.pollIntervalMs,
      signal: this.controller.signal,
      stats: this.stats,
    };
    if (options.partitions > 1) {
      const bounds = partitionBounds(options.startTime!, options.endTime!, options.partitions);
      this.cursors = bounds.slice(1).map((end, i) => new PageCursor({ ...cursorOptions, startTime: bounds[i], endTime: end }));
    } else {
      this.cursors = [new PageCursor({ ...cursorOptions, startTime: options.startTime, endTime: options.endTime, checkpoint: options.checkpoint })];
    }
  }

  // Typed events: the stream's own, and 'data' with its record type; other events as on any Readable.
  override on(event: 'page', listener: (boundary: PageBoundary) => void): this;
  override on(event: 'checkpoint', listener: (checkpoint: string, records: number) => void): this;
  override on(event: 'progress', listener: (stats: InferenceResultsStats) => void): this;
  override on(event: 'data', listener: (result: InferenceResult) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this;
  override on(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override once(event: 'page', listener: (boundary: PageBoundary) => void): this;
  override once(event: 'checkpoint', listener: (checkpoint: string, records: number) => void): this;
  override once(event: 'progress', listener: (stats: InferenceResultsStats) => void): this;
  override once(event: 'data', listener: (result: InferenceResult) => void): this;
  override once(event: string | symbol, listener: (...args: never[]) => void): this;
  override once(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.once(event, listener as (...args: unknown[]) => void);
  }

  /** Typed iteration: `for await (const result of stream)` yields {@link InferenceResult}s. */
  override [Symbol.asyncIterator](): AsyncIterableIterator<InferenceResult> {
    return super[Symbol.asyncIterator]() as AsyncIterableIterator<InferenceResult>;
  }

  override _read(): void {
    if (this.reading) return;
    this.reading = true;
    if (this.startedAt === 0) {
      this.startedAt = Date.now();
      // Later partitions start downloading at once (up to `prefetch` pages each).
      for (const cursor of this.cursors) cursor.start();
    }
    this.commitPending();
    this.readPage().then(
      () => (this.reading = false),
      (error: unknown) => {
        this.reading = false;
        if (!this.destroyed) this.destroy(error as Error);
      },
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.controller.abort();
    callback(error);
  }

  /** Push the next non-empty page, or end the stream. */
  private async readPage(): Promise<void> {
    for (;;) {
      const cursor = this.cursors[this.current];
      const page = await cursor.next();
      if (this.destroyed) return;
      this.stats.elapsedMs = Date.now() - this.startedAt;
      if (!page) {
        if (++this.current < this.cursors.length) continue;
        this.push(null);
        return;
      }
      if (page.records.length === 0) {
        // An empty page moves the position only (e.g. the start of a follow): nothing to read.
        this.pending = { checkpoint: page.checkpoint };
        this.commitPending();
        continue;
      }
      this.pending = { checkpoint: page.checkpoint };
      this.stats.pages++;
      this.stats.records += page.records.length;
      this.emit('page', { records: this.stats.records, checkpoint: this.cursors.length > 1 ? undefined : page.checkpoint } satisfies PageBoundary);
      for (const record of page.records) this.push(record);
      this.emit('progress', this.stats);
      return;
    }
  }

  /** The consumer has read every record pushed: the page's checkpoint is now safe to resume from. */
  private commitPending(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending || pending.checkpoint === undefined || this.cursors.length > 1) return;
    if (pending.checkpoint === this.checkpoint) return;
    this.checkpoint = pending.checkpoint;
    this.emit('checkpoint', pending.checkpoint, this.stats.records);
  }
}

/**
 * An objectMode Readable of every inference result from `startTime` (or after `checkpoint`),
 * oldest first, following checkpoints until an empty page (or forever with `follow`).
 * Options are validated at once: a bad one throws `ConfigError` before any request.
 */
export function inferenceResults(options: InferenceResultsOptions = {}): InferenceResultsStream {
  return new InferenceResultsStream(resolveInnerworksOptions(options));
}
