/**
 * A page cursor over the batch endpoint: follows checkpoints, fetches at most `prefetch` pages
 * ahead of its consumer, stops at `endTime`, and polls at the end when following. Both the
 * Readable and the file export are built on it; it holds no stream or file code.
 */
import { sleep } from '../core/retry.js';
import type { BaseStats } from '../core/stats.js';
import { getInferenceBatch, type InnerworksClientConfig } from './client.js';
import type { InferenceResult } from './types.js';

export interface CursorPage {
  records: InferenceResult[];
  /**
   * The position after this page, to resume from. Undefined when the page was cut at `endTime`
   * (the server's checkpoint would point past records we dropped).
   */
  checkpoint: string | undefined;
  /** Response body bytes. */
  bytes: number;
}

export interface CursorOptions {
  client: InnerworksClientConfig;
  batchSize: number;
  startTime?: number;
  checkpoint?: string;
  endTime?: number;
  prefetch: number;
  follow: boolean;
  pollIntervalMs: number;
  /** Aborts the request in flight and any poll wait. */
  signal: AbortSignal;
  /** Counters to add requests, retries and bytes to. */
  stats: BaseStats;
}

export class PageCursor {
  private checkpoint: string | undefined;
  private readonly queue: CursorPage[] = [];
  private fetching = false;
  private finished = false;
  private failure: { error: unknown } | undefined;
  private waiter: (() => void) | undefined;

  constructor(private readonly options: CursorOptions) {
    this.checkpoint = options.checkpoint;
  }

  /** Start fetching ahead (up to `prefetch` pages) before the first `next()`. */
  start(): void {
    this.pump();
  }

  /** The next page, or undefined at the end. An empty page only carries a new checkpoint. */
  async next(): Promise<CursorPage | undefined> {
    for (;;) {
      const page = this.queue.shift();
      if (page) {
        this.pump();
        return page;
      }
      if (this.failure) throw this.failure.error;
      if (this.finished && !this.fetching) return undefined;
      const woken = new Promise<void>((resolve) => (this.waiter = resolve));
      this.pump();
      await woken;
    }
  }

  /** Fetch when a consumer waits, or while fewer than `prefetch` pages are ready. */
  private pump(): void {
    if (this.fetching || this.finished || this.failure) return;
    if (this.queue.length >= this.options.prefetch && !this.waiter) return;
    this.fetching = true;
    this.fetchPage()
      .then(
        (page) => {
          if (page) this.queue.push(page);
        },
        (error: unknown) => {
          this.failure = { error };
        },
      )
      .finally(() => {
        this.fetching = false;
        const waiter = this.waiter;
        this.waiter = undefined;
        waiter?.();
        this.pump();
      });
  }

  /** One page to hand out (undefined when the data ended with nothing new to say). */
  private async fetchPage(): Promise<CursorPage | undefined> {
    const { client, batchSize, signal, stats } = this.options;
    for (;;) {
      stats.requests++;
      const query = { batchSize, checkpoint: this.checkpoint, startTime: this.checkpoint === undefined ? this.options.startTime : undefined };
      const { page, bytes } = await getInferenceBatch(client, query, {
        signal,
        onRetry: () => {
          stats.requests++;
          stats.retries++;
        },
      });
      stats.bytes += bytes;
      if (page.results.length === 0) {
        const moved = page.checkpoint !== undefined && page.checkpoint !== this.checkpoint;
        if (page.checkpoint !== undefined) this.checkpoint = page.checkpoint;
        if (!this.options.follow) {
          this.finished = true;
          return moved ? { records: [], checkpoint: this.checkpoint, bytes } : undefined;
        }
        if (moved) return { records: [], checkpoint: this.checkpoint, bytes };
        await sleep(this.options.pollIntervalMs, signal);
        continue;
      }
      const cut = this.cutAtEnd(page.results);
      if (cut) {
        this.finished = true;
        return { records: cut, checkpoint: undefined, bytes };
      }
      this.checkpoint = page.checkpoint;
      return { records: page.results, checkpoint: page.checkpoint, bytes };
    }
  }

  /** The records before `endTime` when the page reaches it, else undefined (whole page in range). */
  private cutAtEnd(records: InferenceResult[]): InferenceResult[] | undefined {
    const endTime = this.options.endTime;
    if (endTime === undefined) return undefined;
    // Results are chronological: checking the last one settles most pages with one parse.
    if (!(Date.parse(records[records.length - 1].timestamp) >= endTime)) return undefined;
    let low = 0;
    let high = records.length - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (Date.parse(records[mid].timestamp) >= endTime) high = mid;
      else low = mid + 1;
    }
    return records.slice(0, low);
  }
}
