/**
 * A page cursor over the batch endpoint: follows checkpoints, fetches at most `prefetch` pages
 * ahead of its consumer, stops at `endTime`, and polls at the end when following. Both the
 * Readable and the file export are built on it; it holds no stream or file code.
 */
import { sleep } from '../core/retry.js';
import type { BaseStats } from '../core/stats.js';
import { ProtocolError } from '../core/errors.js';
import type { JsonLines } from '../core/json-lines.js';
import { INNERWORKS_BATCH_ENDPOINT, getInferenceBatchBody, parseInferenceBatch, peekCheckpoint, readInferenceBatchLines, type InnerworksClientConfig } from './client.js';
import type { InferenceResult } from './types.js';

export interface CursorPage {
  /** The page's results (empty when they come as `lines`). */
  records: InferenceResult[];
  /** With the cursor's `lines` option: the page's results as JSON lines, never parsed into `records`. */
  lines?: JsonLines;
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
  /**
   * Hand each page's results as JSON lines copied from the body (`CursorPage.lines`) instead of
   * objects, for a destination that writes JSONL: the same checks, without building the records.
   * Default false.
   */
  lines?: boolean;
}

/**
 * One request in the chain. `page` settles once the body is parsed; the next request may start
 * earlier, as soon as the checkpoint is read from the end of the body.
 */
interface Slot {
  seq: number;
  page: Promise<CursorPage | undefined>;
  /** Aborts this request only (a speculative one that turned out not to be needed). */
  controller: AbortController;
}

const EMPTY_RESULTS = /"results"\s*:\s*\[\s*\]/;
/** Checkpoints remembered to catch a server that goes round in a cycle (about 100 bytes each). */
const SEEN_CHECKPOINTS = 100_000;

export class PageCursor {
  private checkpoint: string | undefined;
  private readonly slots: Slot[] = [];
  /** A request is in flight whose checkpoint is not known yet: the next cannot start. */
  private chaining = false;
  /** Sequence number of the request that found the end; later ones are dropped. */
  private finishedAt: number | undefined;
  private failed = false;
  private waiting = false;
  private nextSeq = 0;
  /** Checkpoints of this run's pages: one coming back means the server is going round in a cycle. */
  private readonly seen = new Set<string>();

  // #private: the options hold the API key, which util.inspect() (even showHidden) must never show.
  readonly #options: CursorOptions;

  constructor(options: CursorOptions) {
    this.#options = options;
    this.checkpoint = options.checkpoint;
  }

  /** Start fetching ahead (up to `prefetch` pages) before the first `next()`. */
  start(): void {
    this.pump();
  }

  /** The next page, or undefined at the end. An empty page only carries a new checkpoint. */
  async next(): Promise<CursorPage | undefined> {
    for (;;) {
      const slot = this.slots[0] ?? this.startSlot();
      if (!slot || (this.finishedAt !== undefined && slot.seq > this.finishedAt)) {
        // The end (or a page cut at endTime) came before this request: it is not needed.
        this.dropSlots();
        return undefined;
      }
      let page: CursorPage | undefined;
      // While the consumer waits for this page, the next one may already be asked for.
      this.waiting = true;
      this.pump();
      try {
        page = await slot.page;
      } catch (error) {
        this.dropSlots();
        throw error;
      } finally {
        this.waiting = false;
      }
      this.slots.shift();
      this.pump();
      if (page !== undefined) return page;
    }
  }

  /** Start a request when a consumer waits, or while fewer than `prefetch` pages are ahead. */
  private pump(): void {
    if (this.chaining || this.finishedAt !== undefined || this.failed) return;
    const limit = this.#options.prefetch + (this.waiting ? 1 : 0);
    if (this.slots.length >= limit) return;
    this.startSlot();
  }

  private startSlot(): Slot | undefined {
    if (this.chaining || this.finishedAt !== undefined || this.failed) return undefined;
    this.chaining = true;
    const seq = this.nextSeq++;
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    this.#options.signal.addEventListener('abort', onAbort, { once: true });
    if (this.#options.signal.aborted) controller.abort();
    const page = this.fetchPage(seq, controller.signal).finally(() => this.#options.signal.removeEventListener('abort', onAbort));
    // Rejections are handled by next(); this keeps an unread one from being reported as unhandled.
    page.catch(() => undefined);
    const slot = { seq, page, controller };
    this.slots.push(slot);
    return slot;
  }

  /** Called once this request's successor may start (its checkpoint is known, or it never will be). */
  private release(): void {
    this.chaining = false;
    queueMicrotask(() => this.pump());
  }

  private dropSlots(): void {
    for (const slot of this.slots.splice(0)) slot.controller.abort();
  }

  /** One page to hand out (undefined when there is nothing new to say). */
  private async fetchPage(seq: number, signal: AbortSignal): Promise<CursorPage | undefined> {
    const { client, batchSize, stats } = this.#options;
    // Each request releases the chain once: a later release would let two requests share a position.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.release();
    };
    try {
      for (;;) {
        const asked = this.checkpoint;
        stats.requests++;
        const query = { batchSize, checkpoint: asked, startTime: asked === undefined ? this.#options.startTime : undefined };
        const { body, bytes } = await getInferenceBatchBody(client, query, {
          signal,
          onRetry: () => {
            stats.requests++;
            stats.retries++;
          },
        });
        stats.bytes += bytes;
        // Ask for the next page before parsing this one: its download overlaps our JSON.parse.
        const peeked = peekCheckpoint(body);
        // Not for an empty page (the end): its successor would only be dropped. Not for a
        // checkpoint seen before either: that page is refused below once parsed.
        const speculate = peeked !== undefined && peeked !== asked && !this.seen.has(peeked) && !(body.length < 512 && EMPTY_RESULTS.test(body.toString('latin1')));
        if (speculate) {
          this.remember(peeked);
          this.checkpoint = peeked;
          release();
          // Let the next request reach the socket before JSON.parse holds the thread: undici
          // writes it a few event-loop turns later, so one setImmediate is not enough (measured:
          // 100 → 77 ms a page with 50 ms of latency).
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        const where = `page ${seq + 1} (${asked === undefined ? 'the first request' : `after checkpoint ${asked}`})`;
        const page = this.#options.lines ? readInferenceBatchLines(body, where) : parseInferenceBatch(body.toString('utf8'), where);
        if (speculate && page.checkpoint !== peeked) {
          throw new ProtocolError(INNERWORKS_BATCH_ENDPOINT, 'the checkpoint at the end of the body is not the one parsed');
        }
        if (page.results.length === 0) {
          const moved = page.checkpoint !== undefined && page.checkpoint !== asked;
          // After speculation the position is already set, and a successor may have moved it on.
          if (page.checkpoint !== undefined && !speculate) this.checkpoint = page.checkpoint;
          if (!this.#options.follow) {
            this.finishedAt = seq;
            return moved ? { records: [], checkpoint: page.checkpoint, bytes } : undefined;
          }
          // Wait after every empty page, even one with a new checkpoint: a server may move its
          // position with the clock, and polling must not turn into a busy loop.
          await sleep(this.#options.pollIntervalMs, signal);
          if (moved) return { records: [], checkpoint: page.checkpoint, bytes };
          continue;
        }
        if (!speculate) this.checkAdvances(page.checkpoint!, asked, where);
        const results = page.results;
        const cut = this.cutAtEnd(results.length, (index) => (Array.isArray(results) ? results[index] : (results.value(index) as InferenceResult)).timestamp);
        if (!speculate && cut === undefined) this.checkpoint = page.checkpoint;
        // A page cut at endTime has no checkpoint to resume from: the range ends with it.
        if (cut !== undefined) this.finishedAt = seq;
        const checkpoint = cut === undefined ? page.checkpoint : undefined;
        if (Array.isArray(results)) return { records: cut === undefined ? results : results.slice(0, cut), checkpoint, bytes };
        return { records: [], lines: cut === undefined ? results : results.head(cut), checkpoint, bytes };
      }
    } catch (error) {
      this.failed = true;
      throw error;
    } finally {
      release();
    }
  }

  /**
   * A page of results must move the position on. The seed promises it; a server that hands back
   * the checkpoint it was asked for, or one it gave before (a cycle), would have us read the same
   * records forever, so stop before any of them is used twice.
   */
  private checkAdvances(checkpoint: string, asked: string | undefined, where: string): void {
    if (checkpoint === asked) {
      throw new ProtocolError(INNERWORKS_BATCH_ENDPOINT, `${where} has results but returned the same checkpoint it was asked for, so the position would never advance; stopped before using any of its results (checkpoint ${checkpoint})`);
    }
    if (this.seen.has(checkpoint)) {
      throw new ProtocolError(INNERWORKS_BATCH_ENDPOINT, `${where} returned checkpoint ${checkpoint}, which an earlier page of this run already returned (a cycle); stopped before using any of its results`);
    }
    this.remember(checkpoint);
  }

  /** Note a checkpoint handed out in this run; the oldest are forgotten past a bound, so memory stays flat. */
  private remember(checkpoint: string): void {
    // A copy, not the string itself: one cut from a page's body by a regex or JSON.parse may be
    // a slice that keeps the whole body (megabytes) alive for as long as it is remembered.
    this.seen.add(Buffer.from(checkpoint, 'utf8').toString('utf8'));
    if (this.seen.size > SEEN_CHECKPOINTS) this.seen.delete(this.seen.values().next().value!);
  }

  /**
   * How many of a page's `count` results come before `endTime` when the page reaches it, else
   * undefined (whole page in range). `timestampOf(i)` is result i's timestamp (a JSON line is
   * parsed for it: about 14 of a 5000-result page).
   */
  private cutAtEnd(count: number, timestampOf: (index: number) => string): number | undefined {
    const endTime = this.#options.endTime;
    if (endTime === undefined) return undefined;
    // Results are chronological: checking the last one settles most pages with one parse.
    if (!(Date.parse(timestampOf(count - 1)) >= endTime)) return undefined;
    let low = 0;
    let high = count - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (Date.parse(timestampOf(mid)) >= endTime) high = mid;
      else low = mid + 1;
    }
    return low;
  }
}
