/**
 * A bounded-concurrency async map that can keep input order, in the manner of Node's
 * `Readable.prototype.map({concurrency})`: at most `window` tasks are in flight or finished but
 * waiting to be emitted; `push()` waits while the window is full, which is what gives a stream
 * built on it real backpressure. p-limit bounds the tasks actually running, and lets
 * `setConcurrency()` change that bound while work is under way (adaptive concurrency).
 */
import pLimit, { type LimitFunction } from 'p-limit';

export interface OrderedMapOptions {
  /** Tasks running at once (≥ 1). */
  concurrency: number;
  /** Emit results in input order (default true); false emits each as it finishes. */
  ordered?: boolean;
  /** Tasks in flight plus results waiting to be emitted. Default `concurrency`. */
  window?: number;
}

interface Slot<R> {
  done: boolean;
  value?: R;
}

export class OrderedMap<T, R> {
  private readonly limit: LimitFunction;
  private readonly ordered: boolean;
  private window: number;
  private readonly slots: Slot<R>[] = [];
  private failure: { error: unknown } | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly task: (item: T) => Promise<R>,
    private readonly emit: (result: R) => void,
    options: OrderedMapOptions,
  ) {
    this.limit = pLimit(options.concurrency);
    this.ordered = options.ordered ?? true;
    this.window = options.window ?? options.concurrency;
  }

  /** Start `item`'s task; resolves once there is room for another item. Rejects after a failure. */
  async push(item: T): Promise<void> {
    this.throwIfFailed();
    const slot: Slot<R> = { done: false };
    this.slots.push(slot);
    this.limit(() => this.task(item)).then(
      (value) => {
        slot.done = true;
        slot.value = value;
        this.release();
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.wake();
      },
    );
    while (this.slots.length >= this.window && !this.failure) await this.nextChange();
    this.throwIfFailed();
  }

  /** Resolves when every pushed item has been emitted; rejects with the first failure. */
  async drain(): Promise<void> {
    while (this.slots.length > 0 && !this.failure) await this.nextChange();
    this.throwIfFailed();
  }

  /** Change how many tasks run at once (and the window with it). */
  setConcurrency(concurrency: number): void {
    this.limit.concurrency = concurrency;
    this.window = concurrency;
    this.wake();
  }

  get concurrency(): number {
    return this.limit.concurrency;
  }

  /** Tasks running now. */
  get active(): number {
    return this.limit.activeCount;
  }

  /** Items started but not yet emitted. */
  get pending(): number {
    return this.slots.length;
  }

  /** Stop queued tasks from starting (running ones finish or are aborted by their own signal). */
  clear(): void {
    this.limit.clearQueue();
  }

  private release(): void {
    if (this.failure) return;
    if (this.ordered) {
      while (this.slots.length > 0 && this.slots[0].done) this.emit(this.slots.shift()!.value as R);
    } else {
      for (let i = 0; i < this.slots.length; ) {
        if (this.slots[i].done) this.emit(this.slots.splice(i, 1)[0].value as R);
        else i++;
      }
    }
    this.wake();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
