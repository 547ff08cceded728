/**
 * `concurrency: 'auto'`: find how many batches the server takes at once. Start at 2; add one per
 * finished batch while latency stays flat (the server is not queueing); halve on a 429; take one
 * off when latency keeps rising. After a 429 the level that drew it is remembered as a ceiling
 * and only probed again after a long calm stretch, so a server with a hard limit is not hit
 * with a 429 (and a Retry-After wait) every few batches.
 */

export interface AdaptiveConcurrencyOptions {
  /** First level. Default 2. */
  initial?: number;
  /** Highest level. */
  max: number;
  /** Lowest level. Default 1. */
  min?: number;
  /** Called whenever the level changes. */
  onChange: (level: number) => void;
}

/** Latency up to this multiple of the baseline counts as flat. */
const FLAT = 1.3;
/** Latency above this multiple of the baseline counts as queueing. */
const RISING = 2;
/** Rising samples in a row before stepping down. */
const RISING_STREAK = 3;
/** Calm batches per level before probing a remembered ceiling again. */
const PROBE_AFTER_PER_LEVEL = 16;

export class AdaptiveConcurrency {
  private current: number;
  private readonly min: number;
  private readonly max: number;
  private baseline = Infinity;
  /** Fewest requests in flight that drew a 429: the level to stay under. */
  private ceiling = Infinity;
  private calm = 0;
  private risingStreak = 0;
  /** Time of the last decrease: a 429 of a request sent before it is old news. */
  private decreasedAt = -Infinity;

  constructor(private readonly options: AdaptiveConcurrencyOptions) {
    this.min = options.min ?? 1;
    this.max = options.max;
    this.current = Math.min(this.max, Math.max(this.min, options.initial ?? 2));
  }

  get level(): number {
    return this.current;
  }

  /**
   * A batch succeeded after `latencyMs` (of its last attempt); `representative` is false for a
   * small final batch; `saturated` says whether the current level was in use (a level the input
   * cannot fill is not raised: it would only allow a burst above what was ever tested).
   */
  onSuccess(latencyMs: number, representative = true, saturated = true): void {
    if (!representative) return;
    // The baseline is the lowest latency seen, drifting up very slowly (×1.3 in ~260 batches) so
    // that a server that got slower for good is relearnt, but not so fast that the latency added
    // by our own extra requests becomes the new normal.
    this.baseline = Math.min(this.baseline * 1.001, latencyMs);
    if (latencyMs > this.baseline * RISING) {
      this.calm = 0;
      if (++this.risingStreak >= RISING_STREAK) {
        this.risingStreak = 0;
        this.set(this.current - 1, true);
      }
      return;
    }
    this.risingStreak = 0;
    if (latencyMs > this.baseline * FLAT) return;
    this.calm++;
    if (!saturated) return;
    const next = this.current + 1;
    if (next >= this.ceiling) {
      // At the remembered limit: probe one step above it only after a long calm stretch.
      if (this.calm < PROBE_AFTER_PER_LEVEL * this.current) return;
      this.ceiling = next + 1;
    }
    this.calm = 0;
    this.set(next, false);
  }

  /**
   * A request was answered 429. `sentAt` (`performance.now()`) is when that attempt was sent and
   * `inFlight` how many requests were in flight with it: the server's limit is below that.
   */
  onRateLimited(sentAt: number, inFlight: number): void {
    this.ceiling = Math.min(this.ceiling, Math.max(this.min + 1, inFlight));
    this.calm = 0;
    // One halving per burst: requests sent before the last decrease, or while more than the
    // current level are still draining, say nothing new.
    if (sentAt < this.decreasedAt || inFlight > this.current) return;
    this.set(Math.floor(this.current / 2), true);
  }

  private set(level: number, decrease: boolean): void {
    const clamped = Math.min(this.max, Math.max(this.min, level));
    if (decrease) this.decreasedAt = performance.now();
    if (clamped === this.current) return;
    this.current = clamped;
    this.options.onChange(clamped);
  }
}
