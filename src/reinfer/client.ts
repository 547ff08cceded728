/**
 * One function per Reinfer endpoint: plain promises over `callApi` (retries, typed errors, a 2xx
 * with `status: "error"` as ProtocolError). No stream code here.
 */
import { callApi, type ApiResult } from '../core/api.js';
import type { TraceParent } from '../core/request-telemetry.js';
import type { RetryEvent } from '../core/retry.js';
import type { ReinferConnection } from './options.js';
import type { PredictCommentsResponse, PredictResponse, ValidationResponse } from './types.js';

export type PredictEndpoint = 'predict' | 'predict-raw-emails' | 'predict-comments';

/** Per-call hooks: the stream counts requests and retries, and aborts on destroy. */
export interface CallHooks {
  signal?: AbortSignal;
  onRetry?: (event: RetryEvent) => void;
  /** The span (a predict batch) the request's attempts sit under. */
  trace?: TraceParent;
}

const AUTH_HINT = 'Check REINFER_TOKEN (or the token option)';

/** `…/labellers/{version}/{endpoint}` with every path segment URL-encoded. */
function labellerUrl(connection: ReinferConnection, endpoint: PredictEndpoint | 'validation'): string {
  const segments = [connection.project, connection.dataset].map(encodeURIComponent);
  return `${connection.baseUrl}/api/v1/datasets/${segments[0]}/${segments[1]}/labellers/${encodeURIComponent(connection.version)}/${endpoint}`;
}

/** The label of an endpoint in errors and stats (a path template, never a real path). */
export function endpointLabel(endpoint: PredictEndpoint | 'validation'): string {
  return `${endpoint === 'validation' ? 'GET' : 'POST'} /api/v1/datasets/{project}/{dataset}/labellers/{version}/${endpoint}`;
}

function post<T>(connection: ReinferConnection, endpoint: PredictEndpoint, body: string, hooks: CallHooks): Promise<ApiResult<T>> {
  return callApi<T>({
    method: 'POST',
    url: labellerUrl(connection, endpoint),
    endpoint: endpointLabel(endpoint),
    headers: { authorization: `Bearer ${connection.token}` },
    json: body,
    retry: connection.common.retry,
    timeoutMs: connection.common.timeoutMs,
    signal: hooks.signal ?? connection.common.signal,
    onRetry: hooks.onRetry,
    authHint: AUTH_HINT,
    vendor: 'reinfer',
    trace: hooks.trace,
  });
}

/**
 * `POST …/predict`. `body` is the serialized request (`{"documents": [...], "threshold"?, "labels"?}`):
 * the stream serializes each document once, to measure batches in bytes, and joins them.
 */
export function predict(connection: ReinferConnection, body: string, hooks: CallHooks = {}): Promise<ApiResult<PredictResponse>> {
  return post<PredictResponse>(connection, 'predict', body, hooks);
}

/** `POST …/predict-raw-emails` (`transform_tag` required; `include_comments` adds `comments`). */
export function predictRawEmails(connection: ReinferConnection, body: string, hooks: CallHooks = {}): Promise<ApiResult<PredictResponse>> {
  return post<PredictResponse>(connection, 'predict-raw-emails', body, hooks);
}

/** `POST …/predict-comments` with `{"uids": [...]}`. */
export function predictComments(connection: ReinferConnection, body: string, hooks: CallHooks = {}): Promise<ApiResult<PredictCommentsResponse>> {
  return post<PredictCommentsResponse>(connection, 'predict-comments', body, hooks);
}

/** `GET …/validation`. */
export function fetchValidation(connection: ReinferConnection, hooks: CallHooks = {}): Promise<ApiResult<ValidationResponse>> {
  return callApi<ValidationResponse>({
    method: 'GET',
    url: labellerUrl(connection, 'validation'),
    endpoint: endpointLabel('validation'),
    headers: { authorization: `Bearer ${connection.token}` },
    retry: connection.common.retry,
    timeoutMs: connection.common.timeoutMs,
    signal: hooks.signal ?? connection.common.signal,
    onRetry: hooks.onRetry,
    authHint: AUTH_HINT,
    vendor: 'reinfer',
    trace: hooks.trace,
  });
}
