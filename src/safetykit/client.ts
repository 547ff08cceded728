/**
 * One function per SafetyKit endpoint (and the object-store PUT/GET behind imports): plain
 * promises over `callApi` / `request`, no stream code.
 */
import { createReadStream } from 'node:fs';
import { Transform, pipeline, type Readable } from 'node:stream';
import { callApi, errorFromResponse } from '../core/api.js';
import { PermissionDeniedError, ProtocolError, describeUrl } from '../core/errors.js';
import { request, requestStream } from '../core/http.js';
import type { TraceParent } from '../core/request-telemetry.js';
import { withRetry, type RetryEvent } from '../core/retry.js';
import type { SafetykitConfig } from './config.js';
import type {
  DataAddResponse,
  DataDownloadUrlResponse,
  DataGetRequestAddOutput,
  DataGetRequestImportOutput,
  DataImportResponse,
  DataUpdateSettingsResponse,
  NamespaceSchema,
  RequestStatus,
} from './types.js';

const AUTH_HINT = 'Check the apiKey option or SAFETYKIT_API_KEY';
/** The pre-signed PUT of an import, as spans and metrics name it (never its URL). */
export const UPLOAD_ENDPOINT = 'PUT {upload_url}';
/** The pre-signed GET of a request's results, as spans and metrics name it. */
export const DOWNLOAD_ENDPOINT = 'GET {download_url}';

/** Per-call extras: a signal narrower than the config's, and a retry observer. */
export interface CallExtras {
  signal?: AbortSignal;
  onRetry?: (event: RetryEvent) => void;
  /** The span (an add batch, an upload) the request's attempts sit under. */
  trace?: TraceParent;
}

function authorized(config: SafetykitConfig): Record<string, string> {
  return { authorization: `Bearer ${config.apiKey}` };
}

function base(config: SafetykitConfig, extras: CallExtras) {
  return {
    headers: authorized(config),
    retry: config.retry,
    timeoutMs: config.timeoutMs,
    signal: extras.signal ?? config.signal,
    onRetry: extras.onRetry,
    authHint: AUTH_HINT,
    vendor: 'safetykit' as const,
    trace: extras.trace,
  };
}

/**
 * `POST /v1/data/{namespace}` with an already serialized `{"data":[…]}` body. Retrying is safe:
 * the same ids are simply updated again.
 */
export async function addData(config: SafetykitConfig, body: string | Buffer, extras: CallExtras = {}): Promise<{ requestId: string; retries: number }> {
  const result = await callApi<DataAddResponse>({ method: 'POST', url: config.namespaceUrl, endpoint: 'POST /v1/data/{namespace}', json: body, ...base(config, extras) });
  return { requestId: requireString(result.data?.requestId, 'requestId', 'POST /v1/data/{namespace}'), retries: result.retries };
}

/**
 * `POST …/import` → an upload URL. Falls back to the newer name of the same step,
 * `POST …/requests/upload-url`, when the server does not know `/import`.
 */
export async function createImport(config: SafetykitConfig, extras: CallExtras = {}): Promise<DataImportResponse> {
  const endpoint = 'POST /v1/data/{namespace}/import';
  const first = await callApi<DataImportResponse>({ method: 'POST', url: `${config.namespaceUrl}/import`, endpoint, passStatuses: [404], ...base(config, extras) });
  const result =
    first.status === 404
      ? await callApi<DataImportResponse>({ method: 'POST', url: `${config.namespaceUrl}/requests/upload-url`, endpoint: 'POST /v1/data/{namespace}/requests/upload-url', ...base(config, extras) })
      : first;
  const data = result.data;
  requireString(data?.upload_url, 'upload_url', endpoint);
  requireString(data?.requestId, 'requestId', endpoint);
  return data;
}

/** Settings of one upload PUT. */
export interface UploadRun extends CallExtras {
  /** Whole-upload timeout, in ms. */
  timeoutMs: number;
  retry: SafetykitConfig['retry'];
  /** Called as bytes leave (resets to the attempt's count on a retry). */
  onProgress?: (bytesSent: number) => void;
}

/**
 * PUT a file to a pre-signed upload URL: streamed with an explicit Content-Length, no credentials
 * and no User-Agent (a signed URL may sign its headers). Each attempt reads the file afresh, so a
 * 5xx or reset re-sends it whole. Errors show the URL without its query string.
 */
export async function uploadFile(uploadUrl: string, filePath: string, size: number, run: UploadRun): Promise<{ retries: number }> {
  return uploadBody(uploadUrl, size, () => countingFileStream(filePath, run.onProgress), run);
}

/**
 * PUT `size` bytes from a fresh `makeBody()` stream per attempt (same rules as {@link uploadFile}).
 * A connection lost while the body is sent is retried with a fresh body, like a 5xx. When the body
 * itself fails (a read error: `RequestBodyError`; a bad line found while it streams: `JsonlError`),
 * the PUT is cut short, so the store keeps nothing, and that error is thrown, never retried.
 */
export async function uploadBody(uploadUrl: string, size: number, makeBody: (attempt: number) => Readable, run: UploadRun): Promise<{ retries: number }> {
  const endpoint = `PUT ${describeUrl(uploadUrl)}`;
  let retries = 0;
  await withRetry(
    async (attempt, telemetry) => {
      retries = attempt;
      // request() tells the body's own failure from the socket's, and destroys the body when done.
      const response = await request({
        telemetry,
        method: 'PUT',
        url: uploadUrl,
        endpoint,
        headers: { 'content-length': String(size), 'content-type': 'application/json' },
        body: makeBody(attempt),
        bare: true,
        timeoutMs: run.timeoutMs,
        signal: run.signal,
      });
      if (response.status < 200 || response.status >= 300) throw errorFromResponse(response, endpoint);
    },
    run.retry,
    // The signed URL (and its path) stays out of telemetry: the span is named by a template.
    { signal: run.signal, onRetry: run.onRetry, target: uploadUrl, telemetry: { vendor: 'safetykit', endpoint: UPLOAD_ENDPOINT, ...run.trace } },
  );
  return { retries };
}

/**
 * The file as a stream for the PUT body, reporting bytes as the consumer takes them. Counting
 * must happen inside the stream: a 'data' listener would start the file flowing before undici
 * attaches (on a cold connection), and the upload would go out empty.
 */
function countingFileStream(filePath: string, onProgress: ((bytesSent: number) => void) | undefined): Readable {
  const file = createReadStream(filePath, { highWaterMark: 256 * 1024 });
  if (!onProgress) return file;
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onProgress((sent += chunk.length));
      callback(null, chunk);
    },
  });
  // pipeline() passes a read error of the file on to the body undici is reading.
  pipeline(file, counter, () => undefined);
  return counter;
}

/** True when a failed upload's URL has expired (ask for a new one rather than give up). */
export function isExpiredUpload(error: unknown, expiresAt: string | undefined): boolean {
  if (!(error instanceof PermissionDeniedError)) return false;
  const expiry = expiresAt ? Date.parse(expiresAt) : NaN;
  return /expired/i.test(error.serverMessage ?? '') || (!Number.isNaN(expiry) && expiry <= Date.now());
}

/**
 * `GET …/requests/{requestId}`. When the inline answer would be too large (413, newer API), the
 * results' download URL is fetched instead and the request is reported `succeeded`.
 */
export async function fetchRequestStatus(config: SafetykitConfig, requestId: string, extras: CallExtras = {}): Promise<RequestStatus> {
  const endpoint = 'GET /v1/data/{namespace}/requests/{requestId}';
  const url = `${config.namespaceUrl}/requests/${encodeURIComponent(requestId)}`;
  const result = await callApi<DataGetRequestAddOutput | DataGetRequestImportOutput>({ method: 'GET', url, endpoint, passStatuses: [413], ...base(config, extras) });
  if (result.status === 413) {
    const download = await fetchDownloadUrl(config, requestId, extras);
    return { requestId, namespace: config.namespace, status: 'succeeded', dataUrl: download.url, dataCount: download.count, dataExpiresAt: download.expiresAt, tooLargeInline: true };
  }
  return toRequestStatus(result.data, requestId, config.namespace, endpoint);
}

function toRequestStatus(wire: DataGetRequestAddOutput | DataGetRequestImportOutput, requestId: string, namespace: string, endpoint: string): RequestStatus {
  if (typeof wire !== 'object' || wire === null) throw new ProtocolError(endpoint, 'the status answer is not an object');
  const fields = wire as unknown as Record<string, unknown>;
  const status: RequestStatus = {
    requestId: typeof fields.request_id === 'string' ? fields.request_id : requestId,
    namespace: typeof fields.namespace === 'string' ? fields.namespace : namespace,
    status: requireString(fields.status, 'status', endpoint),
  };
  if (Array.isArray(fields.data)) status.data = fields.data as RequestStatus['data'];
  if (typeof fields.data_url === 'string' && fields.data_url.length > 0) status.dataUrl = fields.data_url;
  if (typeof fields.data_count === 'number') status.dataCount = fields.data_count;
  if (typeof fields.data_expires_at === 'string' && fields.data_expires_at.length > 0) status.dataExpiresAt = fields.data_expires_at;
  const firstError = Array.isArray(fields.errors) ? (fields.errors[0] as { message?: unknown } | string | undefined) : undefined;
  const reason = [
    fields.error,
    fields.message,
    fields.reason,
    fields.failure_reason,
    fields.status_reason,
    (fields.error as { message?: unknown } | null)?.message,
    typeof firstError === 'string' ? firstError : firstError?.message,
  ].find(
    (value): value is string => typeof value === 'string' && value.length > 0,
  );
  if (reason !== undefined) status.reason = reason;
  return status;
}

/** `GET …/requests/{requestId}/results/download-url` (newer API): a pre-signed JSONL download. */
export async function fetchDownloadUrl(config: SafetykitConfig, requestId: string, extras: CallExtras = {}): Promise<{ url: string; count?: number; expiresAt?: string }> {
  const endpoint = 'GET /v1/data/{namespace}/requests/{requestId}/results/download-url';
  const url = `${config.namespaceUrl}/requests/${encodeURIComponent(requestId)}/results/download-url`;
  const { data } = await callApi<DataDownloadUrlResponse>({ method: 'GET', url, endpoint, ...base(config, extras) });
  const downloadUrl = requireString(data?.download_url ?? data?.data_url ?? data?.url, 'download_url', endpoint);
  return { url: downloadUrl, count: data.data_count, expiresAt: data.expires_at ?? data.data_expires_at };
}

/**
 * Open a pre-signed JSONL download (no credentials sent). Retries until the headers arrive; the
 * body is the caller's to read or destroy.
 */
export async function openDownload(downloadUrl: string, config: SafetykitConfig, extras: CallExtras = {}): Promise<Readable> {
  const endpoint = `GET ${describeUrl(downloadUrl)}`;
  return withRetry(
    async (_attempt, telemetry) => {
      const response = await requestStream({ method: 'GET', url: downloadUrl, endpoint, bare: true, timeoutMs: config.timeoutMs, signal: extras.signal ?? config.signal, telemetry });
      if (response.status >= 200 && response.status < 300) return response.body;
      const text = await readSmall(response.body);
      throw errorFromResponse({ status: response.status, headers: response.headers, text }, endpoint);
    },
    config.retry,
    { signal: extras.signal ?? config.signal, onRetry: extras.onRetry, target: downloadUrl, telemetry: { vendor: 'safetykit', endpoint: DOWNLOAD_ENDPOINT, ...extras.trace } },
  );
}

async function readSmall(body: Readable): Promise<string> {
  let text = '';
  for await (const chunk of body) {
    if (text.length < 4096) text += String(chunk);
  }
  return text.slice(0, 4096);
}

/** `PUT …/settings`. */
export async function putSettings(config: SafetykitConfig, schema: NamespaceSchema, extras: CallExtras = {}): Promise<DataUpdateSettingsResponse> {
  const { data } = await callApi<DataUpdateSettingsResponse>({ method: 'PUT', url: `${config.namespaceUrl}/settings`, endpoint: 'PUT /v1/data/{namespace}/settings', json: { schema }, ...base(config, extras) });
  return data;
}

function requireString(value: unknown, field: string, endpoint: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ProtocolError(endpoint, `the answer has no "${field}"`);
  return value;
}
