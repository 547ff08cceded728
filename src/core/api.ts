/**
 * One API call: request, retry, typed error, JSON body. Every vendor client function is a thin
 * layer over `callApi`, so they all behave alike on failure.
 */
import { ProtocolError, createApiError, type ApiError } from './errors.js';
import { request, type HttpMethod, type HttpResponse } from './http.js';
import type { TraceParent } from './request-telemetry.js';
import { parseRetryAfter, withRetry, type ResolvedRetry, type RetryEvent } from './retry.js';
import type { Vendor } from './telemetry.js';

export interface ApiCall {
  method: HttpMethod;
  url: string;
  /** Method + path template for messages and stats, e.g. `POST /v1/data/{namespace}`. */
  endpoint: string;
  headers?: Record<string, string>;
  /** A JSON body: serialized with `JSON.stringify` unless already a string or a Buffer (JSON text as UTF-8 bytes, sent as they are). */
  json?: unknown;
  retry: ResolvedRetry;
  timeoutMs: number;
  signal?: AbortSignal;
  onRetry?: (event: RetryEvent) => void;
  /** Appended to the message of a 401, e.g. "Check INNERWORKS_API_KEY". */
  authHint?: string;
  /** Statuses handed back to the caller instead of thrown (e.g. 413 for a fallback route). */
  passStatuses?: readonly number[];
  /** Connections per origin for the shared Agent. */
  connections?: number;
  /** The service called, for spans and metrics (every client of the library sets it; a call without it is not traced). */
  vendor?: Vendor;
  /** The span the request's attempts sit under, and their extra attributes. */
  trace?: TraceParent;
}

export interface ApiResult<T> {
  status: number;
  headers: HttpResponse['headers'];
  /** Parsed JSON body (undefined for an empty body or a passed-through status). */
  data: T;
  /** Bytes of body received on the successful attempt. */
  bytes: number;
  /** Retries made before success. */
  retries: number;
}

/** Call an endpoint, retrying what is retryable, and return its parsed JSON body. */
export async function callApi<T>(call: ApiCall): Promise<ApiResult<T>> {
  const body = call.json === undefined ? undefined : typeof call.json === 'string' || Buffer.isBuffer(call.json) ? call.json : JSON.stringify(call.json);
  const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  let retries = 0;
  return withRetry(
    async (attempt, telemetry) => {
      retries = attempt;
      const response = await request({
        telemetry,
        method: call.method,
        url: call.url,
        endpoint: call.endpoint,
        headers,
        body,
        timeoutMs: call.timeoutMs,
        signal: call.signal,
        connections: call.connections,
      });
      if (call.passStatuses?.includes(response.status)) {
        return { status: response.status, headers: response.headers, data: undefined as T, bytes: response.bytes, retries };
      }
      if (response.status < 200 || response.status >= 300) throw errorFromResponse(response, call.endpoint, call.authHint);
      const data = parseJsonBody<T>(response.text, call.endpoint);
      if (isErrorEnvelope(data)) {
        throw new ProtocolError(call.endpoint, `HTTP ${response.status} but the body says status "error": ${data.message ?? '(no message)'}`);
      }
      return { status: response.status, headers: response.headers, data, bytes: response.bytes, retries };
    },
    call.retry,
    { signal: call.signal, onRetry: call.onRetry, target: call.url, telemetry: call.vendor && { vendor: call.vendor, endpoint: call.endpoint, ...call.trace } },
  );
}

/** Parse a 2xx body, or throw a ProtocolError that quotes the start of it. */
export function parseJsonBody<T>(text: string, endpoint: string): T {
  if (text.length === 0) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    const excerpt = text.length > 120 ? `${text.slice(0, 117)}...` : text;
    throw new ProtocolError(endpoint, `response body is not JSON (${(error as Error).message}): ${JSON.stringify(excerpt)}`, { cause: error });
  }
}

function isErrorEnvelope(data: unknown): data is { status: 'error'; message?: string } {
  return typeof data === 'object' && data !== null && (data as { status?: unknown }).status === 'error';
}

/**
 * Build the typed error for a non-2xx response from whichever error shape the vendor uses:
 * `{message}`, `{error}`, `{error: {message}}`, `{cause, error}`, `{status: "error", message}`.
 */
export function errorFromResponse(response: Pick<HttpResponse, 'status' | 'headers' | 'text'>, endpoint: string, authHint?: string): ApiError {
  let body: unknown;
  let serverMessage: string | undefined;
  let serverCause: string | undefined;
  try {
    body = response.text ? JSON.parse(response.text) : undefined;
  } catch {
    body = undefined;
  }
  if (body && typeof body === 'object') {
    const fields = body as Record<string, unknown>;
    const nested = fields.error && typeof fields.error === 'object' ? (fields.error as Record<string, unknown>) : undefined;
    serverMessage = firstString(fields.message, fields.error, nested?.message, fields.detail, fields.title);
    serverCause = firstString(fields.cause, nested?.cause);
  } else if (response.text) {
    serverMessage = response.text.length > 200 ? `${response.text.slice(0, 197)}...` : response.text;
  }
  return createApiError({
    status: response.status,
    endpoint,
    serverMessage,
    serverCause,
    body,
    retryAfterMs: parseRetryAfter(response.headers),
    hint: response.status === 401 ? authHint : undefined,
  });
}

function firstString(...values: unknown[]): string | undefined {
  for (const value of values) if (typeof value === 'string' && value.length > 0) return value;
  return undefined;
}
