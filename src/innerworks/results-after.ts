/**
 * What an export bounded by `endTime` left out: the results the API holds at or after a time,
 * counted with one request for the page that starts there. Used for the "N more results lie
 * after --until" line of the CLI's summaries (direct and queued exports).
 */
import type { CommonOptions } from '../core/options.js';
import { getInferenceBatch } from './client.js';
import { resolveInnerworksOptions } from './options.js';

export interface ResultsAfterOptions extends CommonOptions {
  /** API key. Default: `INNERWORKS_API_KEY`. */
  apiKey?: string;
  /** API base URL. Default: `INNERWORKS_BASE_URL`, else production. */
  baseUrl?: string;
  /** Count results at or after this time, epoch ms. Required. */
  time: number;
  /** The page asked for, 1..5000 results: its size bounds the count. Default 1000. */
  limit?: number;
}

export interface ResultsAfter {
  /** Results in the page after `time` (at most `limit`). */
  results: number;
  /** True when the page was full: `results` or more lie after `time`. */
  more: boolean;
}

/** Settings for a check that must not hold up the summary it informs: one retry, 10 s at most a request. */
export const QUICK_CHECK = Object.freeze({ retry: Object.freeze({ maxRetries: 1 }), timeoutMs: 10_000 });

/** One request for the page at `time`: how many results lie at or after it (up to `limit`). */
export async function resultsAfter(options: ResultsAfterOptions): Promise<ResultsAfter> {
  // The API refuses a start_time in the future (400); nothing can lie after it yet anyway.
  if (options.time > Date.now()) return { results: 0, more: false };
  const { time, limit, ...connection } = options;
  const resolved = resolveInnerworksOptions({ ...connection, startTime: time, batchSize: limit ?? 1000 });
  const { page } = await getInferenceBatch(resolved.client, { batchSize: resolved.batchSize, startTime: time }, { signal: resolved.signal });
  return { results: page.results.length, more: page.results.length === resolved.batchSize };
}
