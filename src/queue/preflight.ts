/**
 * What a worker checks before it takes jobs, and again while it waits out an API outage: that
 * the Innerworks API answers its key (one request for one result). The database a job names is
 * checked when the job arrives (its destination connects first), and probed with
 * `checkPostgres`. Each check throws an error that names where, never a secret.
 */
import { AuthenticationError, ConfigError, PermissionDeniedError, TransportError } from '../core/errors.js';
import type { ResolvedRetry } from '../core/retry.js';
import { getInferenceBatchText } from '../innerworks/client.js';
import { apiTarget } from './own-failure.js';

/** How long one check may take, ms: a probe should answer quickly or count as failed. */
const CHECK_TIMEOUT_MS = 10_000;
/** Retries of the startup check: a blip must not stop a worker from starting, a dead URL must not keep it waiting long. */
const STARTUP_RETRY: ResolvedRetry = { maxRetries: 2, baseDelayMs: 500, maxDelayMs: 2000, maxRetryAfterMs: 5000 };
const PROBE_RETRY: ResolvedRetry = { ...STARTUP_RETRY, maxRetries: 0 };

/**
 * One small request to the API with the worker's key (one result from a minute ago). Any answer
 * but 401/403 proves the URL and the key; a refused connection, a timeout or a refused key is
 * thrown. At startup (`startup: true`) a few retries ride out a blip, and the errors say that
 * the worker did not start.
 */
export async function checkInnerworks(options: { apiKey: string; baseUrl: string; startup: boolean; signal?: AbortSignal }): Promise<void> {
  // As the export resolves it: no trailing slash before the path is appended.
  const config = { apiKey: options.apiKey, baseUrl: options.baseUrl.replace(/\/+$/, ''), timeoutMs: CHECK_TIMEOUT_MS, retry: options.startup ? STARTUP_RETRY : PROBE_RETRY };
  const target = apiTarget(options.baseUrl);
  const outcome = options.startup ? '; the worker did not start' : '';
  try {
    await getInferenceBatchText(config, { batchSize: 1, startTime: Date.now() - 60_000 }, { signal: options.signal });
  } catch (error) {
    if (error instanceof AuthenticationError || error instanceof PermissionDeniedError) {
      throw new ConfigError('apiKey', `was refused by the Innerworks API at ${target} (HTTP ${error.status}: ${error.serverMessage ?? 'no message'})${outcome}`);
    }
    if (error instanceof TransportError) {
      const Class = error.constructor as new (endpoint: string, message: string, options?: { cause?: unknown; code?: string }) => TransportError;
      throw new Class(target, `the Innerworks API did not answer (${error.message})${outcome}`, { cause: error, code: error.code });
    }
    // Any other answer (a 400, a 5xx, a page we cannot parse) came from the API, which read the key.
  }
}

