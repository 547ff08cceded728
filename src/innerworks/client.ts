/**
 * One function per Innerworks endpoint, as plain promises over `callApi`. No stream code here.
 */
import { callApi } from '../core/api.js';
import { ProtocolError } from '../core/errors.js';
import type { ResolvedRetry, RetryEvent } from '../core/retry.js';
import type { InferenceBatch } from './types.js';

/** The production base URL (seed 000). */
export const INNERWORKS_DEFAULT_BASE_URL = 'https://api.prod.innerworks.me';
export const INNERWORKS_BATCH_ENDPOINT = 'GET /api/v1/innerworks/inference/batch';
/** Appended to the message of a 401 so the user knows what to fix. */
export const INNERWORKS_AUTH_HINT = 'Check the apiKey option or the INNERWORKS_API_KEY environment variable';

/** Resolved connection settings shared by every call. */
export interface InnerworksClientConfig {
  baseUrl: string;
  apiKey: string;
  retry: ResolvedRetry;
  timeoutMs: number;
}

/** Which page to ask for: after a checkpoint, else from a start time, else from the beginning. */
export interface BatchQuery {
  batchSize: number;
  startTime?: number;
  checkpoint?: string;
}

export interface BatchResult {
  page: InferenceBatch;
  /** Body bytes of the successful response. */
  bytes: number;
  /** Retries made for this page. */
  retries: number;
}

/**
 * `GET /api/v1/innerworks/inference/batch`. A checkpoint wins over `startTime` (as the API
 * documents), so only one of them is sent. The checkpoint is URL-encoded: base64's `+`, `/` and
 * `=` must survive the query string.
 */
export async function getInferenceBatch(
  config: InnerworksClientConfig,
  query: BatchQuery,
  call: { signal?: AbortSignal; onRetry?: (event: RetryEvent) => void } = {},
): Promise<BatchResult> {
  const params = new URLSearchParams({ batch_size: String(query.batchSize) });
  if (query.checkpoint !== undefined) params.set('checkpoint', query.checkpoint);
  else if (query.startTime !== undefined) params.set('start_time', String(query.startTime));
  const result = await callApi<unknown>({
    method: 'GET',
    url: `${config.baseUrl}/api/v1/innerworks/inference/batch?${params}`,
    endpoint: INNERWORKS_BATCH_ENDPOINT,
    headers: { 'x-api-key': config.apiKey },
    retry: config.retry,
    timeoutMs: config.timeoutMs,
    signal: call.signal,
    onRetry: call.onRetry,
    authHint: INNERWORKS_AUTH_HINT,
  });
  return { page: checkBatch(result.data), bytes: result.bytes, retries: result.retries };
}

/** A page we can follow safely: a `results` array, and a checkpoint whenever it is not empty. */
function checkBatch(data: unknown): InferenceBatch {
  if (typeof data !== 'object' || data === null || !Array.isArray((data as InferenceBatch).results)) {
    throw new ProtocolError(INNERWORKS_BATCH_ENDPOINT, 'response has no "results" array');
  }
  const page = data as InferenceBatch;
  if (page.checkpoint !== undefined && (typeof page.checkpoint !== 'string' || page.checkpoint.length === 0)) {
    throw new ProtocolError(INNERWORKS_BATCH_ENDPOINT, 'response "checkpoint" is not a non-empty string');
  }
  if (page.results.length > 0 && page.checkpoint === undefined) {
    throw new ProtocolError(INNERWORKS_BATCH_ENDPOINT, `a page of ${page.results.length} results came without a "checkpoint", so the next page cannot be asked for`);
  }
  return page;
}
