/** Request status, waiting for a request to finish, and namespace settings. */
import { ConfigError, ImportFailedError, TimeoutError } from '../core/errors.js';
import { integerOption, stringOption } from '../core/options.js';
import { sleep } from '../core/retry.js';
import { fetchRequestStatus, putSettings, type CallExtras } from './client.js';
import { resolveSafetykit, type SafetykitConfig, type SafetykitOptions } from './config.js';
import type { DataUpdateSettingsResponse, NamespaceSchema, RequestStatus } from './types.js';

/** How to poll a request until it is final. */
export interface PollOptions {
  /** First wait between two status checks, in ms; each wait is 1.5× the previous one. Default 1000. */
  pollIntervalMs?: number;
  /** Longest wait between two status checks, in ms. Default 30 000. */
  maxPollIntervalMs?: number;
  /** Give up (with `TimeoutError`) when the request is not final after this long, in ms. Default 21 600 000 (6 h). */
  waitTimeoutMs?: number;
}

export interface ResolvedPoll {
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  waitTimeoutMs: number;
}

/** Validate polling options (ConfigError naming the option). */
export function resolvePoll(options: PollOptions): ResolvedPoll {
  const pollIntervalMs = integerOption('pollIntervalMs', options.pollIntervalMs, 1000, 1, 3_600_000);
  return {
    pollIntervalMs,
    maxPollIntervalMs: integerOption('maxPollIntervalMs', options.maxPollIntervalMs, Math.max(30_000, pollIntervalMs), pollIntervalMs, 3_600_000),
    waitTimeoutMs: integerOption('waitTimeoutMs', options.waitTimeoutMs, 21_600_000, 1, 7 * 86_400_000),
  };
}

/**
 * Poll until the request is final, waiting longer each time. Resolves with the `succeeded`
 * status; `failed` rejects with `ImportFailedError` carrying the server's reason.
 */
export async function pollUntilFinal(
  config: SafetykitConfig,
  requestId: string,
  poll: ResolvedPoll,
  extras: CallExtras & { onPoll?: (status: RequestStatus) => void } = {},
): Promise<RequestStatus> {
  const started = Date.now();
  let interval = poll.pollIntervalMs;
  for (;;) {
    const status = await fetchRequestStatus(config, requestId, extras);
    extras.onPoll?.(status);
    if (status.status === 'failed') throw new ImportFailedError(status.requestId, status.reason);
    if (status.status === 'succeeded') return status;
    const left = poll.waitTimeoutMs - (Date.now() - started);
    if (left <= 0) {
      throw new TimeoutError('GET /v1/data/{namespace}/requests/{requestId}', `request ${requestId} still "${status.status}" after waitTimeoutMs (${poll.waitTimeoutMs} ms)`, { code: 'ETIMEDOUT' });
    }
    await sleep(Math.min(interval, left), extras.signal ?? config.signal);
    interval = Math.min(poll.maxPollIntervalMs, Math.ceil(interval * 1.5));
  }
}

/** Options of {@link getRequestStatus}. */
export interface RequestStatusOptions extends SafetykitOptions {
  /** The `requestId` an add or import answered with. */
  requestId: string;
}

/** Options of {@link waitForRequest}. */
export interface WaitForRequestOptions extends RequestStatusOptions, PollOptions {
  /** Called with each status seen while waiting. Default none. */
  onPoll?: (status: RequestStatus) => void;
}

/** The current status of an add or import request (`GET /v1/data/{namespace}/requests/{requestId}`). */
export async function getRequestStatus(options: RequestStatusOptions): Promise<RequestStatus> {
  const config = resolveSafetykit(options);
  const requestId = stringOption('requestId', options.requestId, true);
  return fetchRequestStatus(config, requestId);
}

/**
 * Wait until a request is `succeeded` (resolves with its status) or `failed` (rejects with
 * `ImportFailedError`), polling with a growing interval.
 */
export async function waitForRequest(options: WaitForRequestOptions): Promise<RequestStatus> {
  const config = resolveSafetykit(options);
  const requestId = stringOption('requestId', options.requestId, true);
  const poll = resolvePoll(options);
  if (options.onPoll !== undefined && typeof options.onPoll !== 'function') throw new ConfigError('onPoll', 'must be a function', options.onPoll);
  return pollUntilFinal(config, requestId, poll, { onPoll: options.onPoll });
}

/** Options of {@link updateSettings}. */
export interface UpdateSettingsOptions extends SafetykitOptions {
  /** Field name → `{content_type?, display_hint?, field_limit?, namespace_ref?}`. */
  schema: NamespaceSchema;
}

/** Store a namespace's field settings (`PUT /v1/data/{namespace}/settings`). */
export async function updateSettings(options: UpdateSettingsOptions): Promise<DataUpdateSettingsResponse> {
  const config = resolveSafetykit(options);
  const schema = options.schema;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new ConfigError('schema', 'must be an object of field settings', schema);
  for (const [field, settings] of Object.entries(schema)) {
    if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) throw new ConfigError(`schema.${field}`, 'must be an object', settings);
    if (settings.field_limit !== undefined) integerOption(`schema.${field}.field_limit`, settings.field_limit, 1, 1, Number.MAX_SAFE_INTEGER);
    for (const key of ['content_type', 'display_hint', 'namespace_ref'] as const) stringOption(`schema.${field}.${key}`, settings[key]);
  }
  return putSettings(config, schema);
}
