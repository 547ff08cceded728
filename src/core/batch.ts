/**
 * Group items into batches bounded by count and by serialized size. Idle-time flushing belongs
 * to the stream that owns the batcher (it knows when input pauses); see `IdleTimer`.
 */

export interface BatchLimits {
  /** Most items in one batch. */
  maxItems: number;
  /** Most bytes in one batch (sum of the sizes given to `add`). Default unbounded. */
  maxBytes?: number;
}

export class Batcher<T> {
  private items: T[] = [];
  private bytes = 0;

  constructor(private readonly limits: BatchLimits) {}

  /**
   * Add an item of `size` bytes. Returns the batches that became full: the current one when this
   * item would overflow its byte limit (the item then starts the next), and the one this item
   * filled to `maxItems`.
   */
  add(item: T, size = 0): T[][] {
    const full: T[][] = [];
    const maxBytes = this.limits.maxBytes ?? Infinity;
    if (this.items.length > 0 && this.bytes + size > maxBytes) full.push(this.take());
    this.items.push(item);
    this.bytes += size;
    if (this.items.length >= this.limits.maxItems || this.bytes >= maxBytes) full.push(this.take());
    return full;
  }

  /** Take the partial batch (empty array when there is none). */
  take(): T[] {
    const batch = this.items;
    this.items = [];
    this.bytes = 0;
    return batch;
  }

  get length(): number {
    return this.items.length;
  }

  get pendingBytes(): number {
    return this.bytes;
  }
}

/**
 * Calls `onIdle` once `idleMs` pass with no `touch()`; `stop()` cancels. `touch()` is called per
 * item, so it only notes the time: the timer is re-armed when it fires too early, not per call.
 */
export class IdleTimer {
  private timer: NodeJS.Timeout | undefined;
  private lastTouch = 0;

  constructor(
    private readonly idleMs: number,
    private readonly onIdle: () => void,
  ) {}

  touch(): void {
    if (!Number.isFinite(this.idleMs) || this.idleMs <= 0) return;
    this.lastTouch = Date.now();
    if (!this.timer) this.arm(this.idleMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const idleFor = Date.now() - this.lastTouch;
      if (idleFor >= this.idleMs) this.onIdle();
      else this.arm(this.idleMs - idleFor);
    }, delayMs);
  }
}
