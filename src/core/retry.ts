/**
 * Which failures are retried and how long to wait: exponential backoff with full jitter, capped,
 * with the server's Retry-After / retry-after-ms as a floor.
 */
import { channel } from 'node:diagnostics_channel';
import { AbortError, ApiError, ConfigError, RateLimitError, TransportError, isRetryableError } from './errors.js';
import { headerValue, type HttpResponse } from './http.js';
import type { AttemptTelemetry, RequestTelemetry } from './request-telemetry.js';
import { ATTR, instruments, retryReason } from './telemetry.js';

/** Retry settings shared by every piece of the library. */
export interface RetryOptions {
  /** Retries after the first attempt. Default 5 (0..100). */
  maxRetries?: number;
  /** First backoff ceiling; doubles each retry. Default 500 ms. */
  baseDelayMs?: number;
  /** Cap on one backoff wait. Default 30 000 ms. */
  maxDelayMs?: number;
  /** A Retry-After above this fails at once with `RateLimitError`. Default 120 000 ms. */
  maxRetryAfterMs?: number;
}

export type ResolvedRetry = Required<RetryOptions>;

export const DEFAULT_RETRY: ResolvedRetry = Object.freeze({
  maxRetries: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
});

/** Validate retry options (`false` turns retries off), filling in defaults. */
export function resolveRetry(options: RetryOptions | false | undefined, optionName = 'retry'): ResolvedRetry {
  if (options === false) return { ...DEFAULT_RETRY, maxRetries: 0 };
  if (options === undefined) return DEFAULT_RETRY;
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(optionName, 'must be an object {maxRetries, baseDelayMs, maxDelayMs, maxRetryAfterMs} or false', options);
  }
  const resolved = { ...DEFAULT_RETRY, ...definedOnly(options) };
  checkInteger(`${optionName}.maxRetries`, resolved.maxRetries, 0, 100);
  checkInteger(`${optionName}.baseDelayMs`, resolved.baseDelayMs, 0, 3_600_000);
  checkInteger(`${optionName}.maxDelayMs`, resolved.maxDelayMs, 0, 3_600_000);
  checkInteger(`${optionName}.maxRetryAfterMs`, resolved.maxRetryAfterMs, 0, 86_400_000);
  return resolved;
}

function definedOnly<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function checkInteger(option: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(option, `must be an integer from ${min} to ${max}`, value);
  }
}

/** Full-jitter backoff for the given retry (0-based): random in [0, min(max, base·2^retry)). */
export function backoffDelay(retry: number, config: ResolvedRetry, random: () => number = Math.random): number {
  const ceiling = Math.min(config.maxDelayMs, config.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/**
 * The wait a response asks for, in ms: `retry-after-ms`, else `Retry-After` as seconds or as an
 * HTTP date. Undefined when absent or unreadable.
 */
export function parseRetryAfter(headers: HttpResponse['headers'], now: number = Date.now()): number | undefined {
  const ms = headerValue(headers, 'retry-after-ms');
  if (ms !== undefined && ms.trim() !== '' && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Math.ceil(Number(ms));
  const value = headerValue(headers, 'retry-after');
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Sleep that ends early with an AbortError when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError('aborted while waiting to retry', { cause: signal.reason }));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError('aborted while waiting to retry', { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What a retry is about to do; passed to `onRetry` (stats, progress, logs). */
export interface RetryEvent {
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
  error: Error;
  /** Retries allowed after the first attempt (so attempt `retry + 1` of `maxRetries + 1` comes next). */
  maxRetries: number;
}

/**
 * The name of the `node:diagnostics_channel` on which every retry of the library is published
 * (a {@link RetryNotice}), whichever stream or client made the request: the CLI subscribes to
 * say "API at … refused the connection; retrying" once per outage. No subscriber, no cost.
 */
export const RETRY_CHANNEL = 'inference-streams:retry';

/** A message of {@link RETRY_CHANNEL}. */
export type RetryNotice =
  /** A retry is about to wait; `origin` is the called URL's `scheme://host:port` (no credentials, path or query). */
  | (RetryEvent & { kind: 'retry'; origin: string })
  /** A call to `origin` succeeded after `retries` retries. */
  | { kind: 'recovered'; origin: string; retries: number };

const retryChannel = channel(RETRY_CHANNEL);

/** `scheme://host:port` of `url`, or undefined when it does not parse. */
function originOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

export interface RetryRun {
  signal?: AbortSignal;
  /** Called before each wait. */
  onRetry?: (event: RetryEvent) => void;
  /** Injected for tests: returns [0, 1). */
  random?: () => number;
  /** Injected for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Decide per error whether to retry; default {@link isRetryableError}. */
  shouldRetry?: (error: unknown) => boolean;
  /** The URL called: its origin is published with each retry on {@link RETRY_CHANNEL}. */
  target?: string;
  /**
   * What the request is, for spans and metrics: each attempt gets its numbered
   * {@link AttemptTelemetry} (to pass to `request()`), and each retry is counted by reason.
   */
  telemetry?: RequestTelemetry;
}

/**
 * Run `attempt` until it succeeds, a non-retryable error occurs, or `maxRetries` is used up.
 * The error thrown at the end carries the retry count.
 */
export async function withRetry<T>(
  attempt: (attemptNumber: number, telemetry: AttemptTelemetry | undefined) => Promise<T>,
  config: ResolvedRetry,
  run: RetryRun = {},
): Promise<T> {
  const shouldRetry = run.shouldRetry ?? isRetryableError;
  const wait = run.sleep ?? sleep;
  let telemetry: AttemptTelemetry | undefined = run.telemetry && { ...run.telemetry, attempt: 1 };
  for (let retries = 0; ; retries++) {
    if (run.signal?.aborted) throw new AbortError('aborted', { cause: run.signal.reason });
    try {
      const result = await attempt(retries, telemetry);
      if (retries > 0 && retryChannel.hasSubscribers) publish(run.target, (origin) => ({ kind: 'recovered', origin, retries }));
      return result;
    } catch (error) {
      if (error instanceof AbortError || run.signal?.aborted) throw error;
      if (!shouldRetry(error) || retries >= config.maxRetries) throw withRetryCount(error, retries);
      const hinted = error instanceof ApiError ? error.retryAfterMs : undefined;
      if (hinted !== undefined && hinted > config.maxRetryAfterMs) throw tooLongToWait(error as ApiError, hinted, config, retries);
      const delayMs = Math.max(backoffDelay(retries, config, run.random), hinted ?? 0);
      const event: RetryEvent = { retry: retries + 1, delayMs, error: error as Error, maxRetries: config.maxRetries };
      run.onRetry?.(event);
      if (retryChannel.hasSubscribers) publish(run.target, (origin) => ({ ...event, kind: 'retry', origin }));
      if (run.telemetry) telemetry = nextAttempt(run.telemetry, retries + 2, retryReason(error), delayMs);
      await wait(delayMs, run.signal);
    }
  }
}

/** The telemetry of the attempt after a retryable failure; the retry is counted by its reason. */
function nextAttempt(request: RequestTelemetry, attempt: number, reason: string, delayMs: number): AttemptTelemetry {
  instruments().retries.add(1, { [ATTR.vendor]: request.vendor, [ATTR.endpoint]: request.endpoint, [ATTR.retryReason]: reason });
  return { ...request, attempt, retryReason: reason, retryDelayMs: delayMs };
}

function publish(target: string | undefined, notice: (origin: string) => RetryNotice): void {
  const origin = originOf(target);
  if (origin !== undefined) retryChannel.publish(notice(origin));
}

function withRetryCount(error: unknown, retries: number): unknown {
  if (error instanceof ApiError || error instanceof TransportError) error.setRetries(retries);
  return error;
}

function tooLongToWait(error: ApiError, hintedMs: number, config: ResolvedRetry, retries: number): RateLimitError {
  return new RateLimitError({
    status: error.status,
    endpoint: error.endpoint,
    serverMessage: error.serverMessage,
    serverCause: error.serverCause,
    body: error.body,
    retries,
    retryAfterMs: hintedMs,
    hint: `The server asked to wait ${Math.ceil(hintedMs / 1000)} s, more than retry.maxRetryAfterMs (${config.maxRetryAfterMs} ms); try again later or raise maxRetryAfterMs`,
  });
}
