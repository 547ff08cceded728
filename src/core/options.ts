/**
 * Option checks shared by every piece: each throws `ConfigError` naming the option and the
 * allowed range, before any request is made.
 */
import { ConfigError, registerSecret } from './errors.js';
import { DEFAULT_TIMEOUT_MS } from './http.js';
import { resolveRetry, type ResolvedRetry, type RetryOptions } from './retry.js';

/** Options every stream and client function accepts. */
export interface CommonOptions {
  /** Aborts in-flight requests and pending waits; the operation fails with `AbortError`. */
  signal?: AbortSignal;
  /** Retry policy, or `false` for none. Default `{maxRetries: 5, baseDelayMs: 500, maxDelayMs: 30000, maxRetryAfterMs: 120000}`. */
  retry?: RetryOptions | false;
  /** Whole-request timeout (headers and body), in ms. Default 120 000. */
  timeoutMs?: number;
}

export interface ResolvedCommon {
  signal: AbortSignal | undefined;
  retry: ResolvedRetry;
  timeoutMs: number;
}

/** Validate the shared options. `defaultTimeoutMs` lets a vendor choose another default. */
export function resolveCommon(options: CommonOptions, defaultTimeoutMs = DEFAULT_TIMEOUT_MS): ResolvedCommon {
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new ConfigError('signal', 'must be an AbortSignal', options.signal);
  }
  return {
    signal: options.signal,
    retry: resolveRetry(options.retry),
    timeoutMs: integerOption('timeoutMs', options.timeoutMs, defaultTimeoutMs, 1, 86_400_000),
  };
}

/** An integer option within [min, max], or its default when undefined. */
export function integerOption(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** A boolean option, or its default when undefined. */
export function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(name, 'must be true or false', value);
  return value;
}

/** A non-empty string option; `required` throws when missing. */
export function stringOption(name: string, value: unknown, required: true): string;
export function stringOption(name: string, value: unknown, required?: false): string | undefined;
export function stringOption(name: string, value: unknown, required = false): string | undefined {
  if (value === undefined || value === null) {
    if (required) throw new ConfigError(name, 'is required (a non-empty string)');
    return undefined;
  }
  if (typeof value !== 'string' || value.length === 0) throw new ConfigError(name, 'must be a non-empty string', value);
  return value;
}

/**
 * The base URL from the option, else the env var, else the vendor's default. Returned without a
 * trailing slash so that paths can be appended.
 */
export function resolveBaseUrl(name: string, value: unknown, envName: string, fallback: string): string {
  const raw = value ?? (process.env[envName] || undefined) ?? fallback;
  if (typeof raw !== 'string' || raw.length === 0) throw new ConfigError(name, `must be an http(s) URL (or set ${envName})`, raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an http(s) URL (or set ${envName})`, raw);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `must be an http(s) URL (or set ${envName})`, raw);
  }
  if (url.search || url.hash) throw new ConfigError(name, 'must not have a query string or fragment', `${url.origin}${url.pathname}`);
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/**
 * A credential from the option, else the env var. It is registered for redaction at once, so it
 * can never appear in an error or log from then on.
 */
export function resolveSecret(name: string, value: unknown, envName: string): string {
  const raw = value ?? (process.env[envName] || undefined);
  if (raw === undefined) throw new ConfigError(name, `is required: pass it or set ${envName}`);
  if (typeof raw !== 'string' || raw.trim().length === 0) throw new ConfigError(name, `must be a non-empty string (or set ${envName})`, typeof raw);
  if (/[\r\n]/.test(raw)) throw new ConfigError(name, 'must not contain line breaks');
  // It travels in an HTTP header, where only Latin-1 text is allowed: say so here, naming the
  // option, rather than let undici fail every request. The value itself is never shown.
  const bad = /[^\t\x20-\x7e\x80-\xff]/.exec(raw);
  if (bad) {
    throw new ConfigError(name, `must contain only printable Latin-1 characters, as an HTTP header value does; character ${bad.index + 1} is U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} (a stray character from copy and paste?) (or set ${envName})`);
  }
  registerSecret(raw);
  return raw;
}
