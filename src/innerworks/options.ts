/**
 * Options of the Innerworks source, validated before the first request: a bad value throws
 * `ConfigError` naming the option.
 */
import { ConfigError } from '../core/errors.js';
import { booleanOption, integerOption, resolveBaseUrl, resolveCommon, resolveSecret, type CommonOptions } from '../core/options.js';
import { INNERWORKS_DEFAULT_BASE_URL, type InnerworksClientConfig } from './client.js';

/** Options of `inferenceResults()` (and, with a few more, of `exportInferenceResults()`). */
export interface InferenceResultsOptions extends CommonOptions {
  /** API key sent as `x-api-key`. Default: the `INNERWORKS_API_KEY` environment variable (required). */
  apiKey?: string;
  /** API base URL. Default: `INNERWORKS_BASE_URL`, else `https://api.prod.innerworks.me`. */
  baseUrl?: string;
  /** Results per request, 1..5000. Default 1000 (the API's default). */
  batchSize?: number;
  /** Return results from this time on (epoch ms or a `Date`); must not be in the future. Default: the beginning of the data. */
  startTime?: number | Date;
  /**
   * Stop at the first result at or after this time (epoch ms or a `Date`); it and later ones are
   * not returned. Default: none (read to the end of the data); with `partitions` > 1, now.
   */
  endTime?: number | Date;
  /** Resume after this opaque checkpoint (from `stream.checkpoint` or the `'checkpoint'` event); wins over `startTime`. Default none. */
  checkpoint?: string;
  /** Pages fetched ahead of the consumer, 0..16. Default 1 (the next page downloads while the current one is consumed). */
  prefetch?: number;
  /** After the end of the data, keep polling for new results every `pollIntervalMs` until aborted. Default false. */
  follow?: boolean;
  /** Wait between polls at the end of the data when `follow` is set, in ms. Default 5000. */
  pollIntervalMs?: number;
  /**
   * Split [`startTime`, `endTime`) into this many equal time ranges read by parallel cursors,
   * 1..64 (needs `startTime`; not with `checkpoint` or `follow`). The stream still emits in
   * chronological order. Default 1.
   */
  partitions?: number;
}

export interface ResolvedInnerworksOptions {
  client: InnerworksClientConfig;
  batchSize: number;
  startTime: number | undefined;
  endTime: number | undefined;
  checkpoint: string | undefined;
  prefetch: number;
  follow: boolean;
  pollIntervalMs: number;
  partitions: number;
  signal: AbortSignal | undefined;
}

// base64 (or base64url) text: the checkpoint is opaque, but anything else cannot be one.
const CHECKPOINT_SHAPE = /^[A-Za-z0-9+/_-]+={0,2}$/;

export function resolveInnerworksOptions(options: InferenceResultsOptions): ResolvedInnerworksOptions {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  const common = resolveCommon(options);
  const now = Date.now();
  const batchSize = integerOption('batchSize', options.batchSize, 1000, 1, 5000);
  const startTime = timeOption('startTime', options.startTime);
  if (startTime !== undefined && startTime > now) throw new ConfigError('startTime', 'must not be in the future', new Date(startTime).toISOString());
  let endTime = timeOption('endTime', options.endTime);
  const checkpoint = options.checkpoint;
  if (checkpoint !== undefined && (typeof checkpoint !== 'string' || !CHECKPOINT_SHAPE.test(checkpoint))) {
    throw new ConfigError('checkpoint', 'must be a checkpoint string returned by the API (base64)', checkpoint);
  }
  const prefetch = integerOption('prefetch', options.prefetch, 1, 0, 16);
  const follow = booleanOption('follow', options.follow, false);
  const pollIntervalMs = integerOption('pollIntervalMs', options.pollIntervalMs, 5000, 1, 86_400_000);
  const partitions = integerOption('partitions', options.partitions, 1, 1, 64);
  if (partitions > 1) {
    if (startTime === undefined) throw new ConfigError('partitions', 'needs startTime (the partitions split [startTime, endTime))', partitions);
    if (checkpoint !== undefined) throw new ConfigError('partitions', 'cannot be combined with checkpoint (resume a partitioned export with exportInferenceResults)', partitions);
    if (follow) throw new ConfigError('partitions', 'cannot be combined with follow', partitions);
    endTime ??= now;
  }
  if (endTime !== undefined && startTime !== undefined && endTime <= startTime) {
    throw new ConfigError('endTime', 'must be after startTime', new Date(endTime).toISOString());
  }
  const client: InnerworksClientConfig = {
    baseUrl: resolveBaseUrl('baseUrl', options.baseUrl, 'INNERWORKS_BASE_URL', INNERWORKS_DEFAULT_BASE_URL),
    apiKey: resolveSecret('apiKey', options.apiKey, 'INNERWORKS_API_KEY'),
    retry: common.retry,
    timeoutMs: common.timeoutMs,
  };
  return { client, batchSize, startTime, endTime, checkpoint, prefetch, follow, pollIntervalMs, partitions, signal: common.signal };
}

function timeOption(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) {
    throw new ConfigError(name, 'must be epoch milliseconds (a non-negative integer) or a valid Date', value instanceof Date ? 'Invalid Date' : value);
  }
  return ms;
}

/** Boundaries t₀ < t₁ < … < t_K of K equal time ranges over [start, end). */
export function partitionBounds(start: number, end: number, partitions: number): number[] {
  const bounds: number[] = [];
  for (let i = 0; i <= partitions; i++) bounds.push(start + Math.floor(((end - start) * i) / partitions));
  return [...new Set(bounds)];
}
