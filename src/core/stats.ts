/** Counters every stream exposes as `stream.stats` and reports with its `'progress'` event. */

export interface BaseStats {
  /** HTTP requests sent (retries included). */
  requests: number;
  /** Retries after a retryable failure. */
  retries: number;
  /** Response (or upload) body bytes transferred. */
  bytes: number;
  /** Milliseconds since the stream started its first request. */
  elapsedMs: number;
}

/** A fresh set of base counters. */
export function baseStats(): BaseStats {
  return { requests: 0, retries: 0, bytes: 0, elapsedMs: 0 };
}
