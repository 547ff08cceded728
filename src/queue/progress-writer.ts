/**
 * A partition job's progress, written to Redis behind the page loop instead of inside it.
 *
 * Each committed page used to wait for its `job.updateProgress` (a Redis round trip and a Lua
 * script) before the loop took the next page; profiled (benchmarks/queue-export, a loaded machine)
 * that wait was 61 ms a page on average with 4 workers (p90 145 ms), 16 ms with 1, on the path
 * of every page (after it: 16 and 3 ms). Now the write of page N's progress runs while
 * page N+1 is written to the database, and the loop waits for it only before reporting N+1: the
 * progress in Redis lags by at most one page (or one Redis round trip), and never by more. That
 * bound is also what keeps a worker from running ahead of a Redis that went away: the loop stops
 * at the next page boundary and waits for Redis, as before.
 */
export class ProgressWriter<T> {
  private inFlight: Promise<void> | undefined;

  constructor(private readonly write: (progress: T) => Promise<void>) {}

  /**
   * Report `progress` (the position after a committed page). Waits for the previous report to
   * be written first, and throws its error if it failed; this one is written in the background.
   */
  async report(progress: T): Promise<void> {
    await this.flush();
    const writing = this.write(progress);
    // Its failure comes out of the next report() or flush(); until then it is not unhandled.
    writing.catch(() => undefined);
    this.inFlight = writing;
  }

  /** Wait until the last report is written (throws its error if it failed). Call before the job's state changes. */
  async flush(): Promise<void> {
    const writing = this.inFlight;
    if (writing === undefined) return;
    try {
      await writing;
    } finally {
      if (this.inFlight === writing) this.inFlight = undefined;
    }
  }
}
