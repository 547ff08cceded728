/**
 * Emulator of the SafetyKit Data API (seed 001, API-NOTES): add, import through a pre-signed
 * upload, request status with its state machine, result downloads, namespace settings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BodyTooLargeError, bearerToken, hash32, json } from './http-util.js';
import { RESULTS_BUCKET, UPLOAD_BUCKET, UrlSigner, resultsStream, s3Error, storeUpload } from './safetykit-objects.js';
import { failureOf, objectCount, resultItem, stateOf, uploadedLines, type RequestState, type StateDelays, type StoredRequest } from './safetykit-store.js';
import type { EmulatorContext, EmulatorRequest, EmulatorResponse, Route } from './types.js';

export interface SafetykitEmulatorOptions {
  /** Accepted API keys. Default: any non-empty bearer token. */
  apiKeys?: string[];
  /** Time a request stays `queued` (after creation, or after the upload for imports), in ms. Default 200. */
  queuedMs?: number;
  /** Least time a request stays `ingesting`, in ms. Default 500. */
  ingestingMs?: number;
  /** Lifetime of an `upload_url`, in ms. Default 12 h (the vendor's). */
  uploadUrlTtlMs?: number;
  /** Lifetime of a `data_url` / download URL, in ms. Default 12 h. */
  dataUrlTtlMs?: number;
  /** Most objects in one add. Default 1000. */
  maxObjects?: number;
  /** Largest add body, in bytes. Default 5 MiB. */
  maxBodyBytes?: number;
  /** Largest inline status answer; above it GET status answers 413 (newer API). Default 5 MiB. */
  inlineStatusLimitBytes?: number;
  /** Directory for uploaded files (removed on close). Default the OS temp dir. */
  uploadDir?: string;
}

/** One PUT to an upload URL, as the object store saw it. */
export interface SafetykitUploadRecord {
  requestId: string | undefined;
  status: number;
  bytes: number;
  contentType: string | undefined;
  contentLength: string | undefined;
  /** Whether the PUT carried an `Authorization` header (it must not; the store refuses it). */
  hadAuthorization: boolean;
}

export interface SafetykitControl {
  /** The next request created (add or import) ends `failed` with `reason`. */
  failNextRequest(reason?: string): void;
  /** The next `count` upload URLs handed out are already expired. */
  expireNextUploadUrls(count?: number): void;
  /** Change the state machine's delays. */
  setDelays(delays: Partial<StateDelays>): void;
  /** Every PUT to an upload URL so far. */
  uploads(): SafetykitUploadRecord[];
  /** The schema last stored for `namespace`. */
  settings(namespace: string): Record<string, unknown> | undefined;
  /** A request's current state, kind and object count (undefined when unknown). */
  request(requestId: string): { state: RequestState; kind: 'add' | 'import'; objects: number } | undefined;
  /**
   * How many times each object id reached `namespace` through imports: the ids in every stored
   * upload (one per import request; a second PUT to the same request replaces its file). Lets a
   * test prove an import sent each object exactly once.
   */
  importedIds(namespace: string): Promise<Map<string, number>>;
  /** The non-blank lines of every stored upload into `namespace`, as received (no parsing): what a test compares byte for byte. */
  importedLines(namespace: string): Promise<string[]>;
  /**
   * How many times each object id reached `namespace` through add requests (every add the
   * handler received, including those whose answer a fault then cut): what a resumed ingest
   * sent again shows up as counts above 1.
   */
  addedIds(namespace: string): Map<string, number>;
}

const MiB = 1024 * 1024;
const HOURS_12 = 12 * 3600_000;
const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SETTINGS_FIELDS = new Set(['content_type', 'display_hint', 'field_limit', 'namespace_ref']);

export function safetykitRoutes(options: SafetykitEmulatorOptions, context: EmulatorContext): { routes: Route[]; control: SafetykitControl } {
  const delays: StateDelays = { queuedMs: options.queuedMs ?? 200, ingestingMs: options.ingestingMs ?? 500 };
  const uploadTtl = options.uploadUrlTtlMs ?? HOURS_12;
  const dataTtl = options.dataUrlTtlMs ?? HOURS_12;
  const maxObjects = options.maxObjects ?? 1000;
  const maxBodyBytes = options.maxBodyBytes ?? 5 * MiB;
  const inlineLimit = options.inlineStatusLimitBytes ?? 5 * MiB;
  const apiKeys = options.apiKeys ? new Set(options.apiKeys) : undefined;
  const signer = new UrlSigner();
  const requests = new Map<string, StoredRequest>();
  const byObjectKey = new Map<string, StoredRequest>();
  const settings = new Map<string, Record<string, unknown>>();
  const uploads: SafetykitUploadRecord[] = [];
  let created = 0;
  const pendingFailures: string[] = [];
  let urlsToExpire = 0;
  let uploadDir: string | undefined;

  context.signal.addEventListener('abort', () => uploadDir && rmSync(uploadDir, { recursive: true, force: true }), { once: true });

  const newRequest = (namespace: string, kind: 'add' | 'import'): StoredRequest => {
    created++;
    const requestId = `req_${hash32(context.seed, created).toString(16).padStart(8, '0')}${created.toString(16).padStart(6, '0')}`;
    const stored: StoredRequest = { requestId, namespace, kind, createdAt: Date.now(), uploading: false, forcedFailure: pendingFailures.shift() };
    requests.set(requestId, stored);
    return stored;
  };

  /** 401 unless `Authorization: Bearer <accepted key>`; 400 for a bad namespace. */
  const guard = (req: EmulatorRequest): EmulatorResponse | undefined => {
    const token = bearerToken(req.headers.authorization);
    if (!token || (apiKeys && !apiKeys.has(token))) {
      return json(401, { statusCode: 401, error: 'Unauthorized', message: 'Missing or invalid API key: send Authorization: Bearer <api key>' });
    }
    if (!NAMESPACE.test(req.params.namespace)) {
      return json(400, { statusCode: 400, error: 'Bad Request', message: `Invalid namespace "${req.params.namespace}": use letters, digits, ".", "_" or "-"` });
    }
    return undefined;
  };

  const badRequest = (message: string, status = 400): EmulatorResponse =>
    json(status, { statusCode: status, error: status === 413 ? 'Payload Too Large' : 'Bad Request', message });

  /** An authorized request's JSON body, or the 401/400/413 answer to send instead. */
  async function jsonBody(req: EmulatorRequest, tooLargeHint = ''): Promise<{ body: unknown } | { refused: EmulatorResponse }> {
    const refused = guard(req);
    if (refused) return { refused };
    try {
      return { body: JSON.parse((await req.body(maxBodyBytes)).toString('utf8')) };
    } catch (error) {
      if (error instanceof BodyTooLargeError) return { refused: badRequest(`Request body exceeds ${maxBodyBytes} bytes${tooLargeHint}`, 413) };
      return { refused: badRequest(`Request body is not valid JSON: ${(error as Error).message}`) };
    }
  }

  async function add(req: EmulatorRequest): Promise<EmulatorResponse> {
    const read = await jsonBody(req, '; use /import for large batches');
    if ('refused' in read) return read.refused;
    const body = read.body;
    const data = (body as { data?: unknown } | null)?.data;
    if (data === undefined || data === null || typeof data !== 'object') return badRequest('"data" must be an object or an array of objects');
    const objects = Array.isArray(data) ? data : [data];
    if (objects.length === 0) return badRequest('"data" must not be empty');
    if (objects.length > maxObjects) return badRequest(`"data" has ${objects.length} objects; at most ${maxObjects} per request (use /import)`, 413);
    const ids: string[] = [];
    for (let index = 0; index < objects.length; index++) {
      const id = (objects[index] as { id?: unknown } | null)?.id;
      if (typeof objects[index] !== 'object' || objects[index] === null || typeof id !== 'string' || id.length === 0) {
        return badRequest(`data[${index}].id is required and must be a non-empty string`);
      }
      ids.push(id);
    }
    const stored = newRequest(req.params.namespace, 'add');
    stored.ids = ids;
    return json(200, { requestId: stored.requestId, status: 'accepted' });
  }

  function startImport(req: EmulatorRequest): EmulatorResponse {
    const refused = guard(req);
    if (refused) return refused;
    req.raw.resume();
    const stored = newRequest(req.params.namespace, 'import');
    stored.objectKey = `imports/${stored.namespace}/${stored.requestId}.jsonl`;
    stored.uploadExpiresAt = urlsToExpire > 0 ? (urlsToExpire--, Date.now() - 1000) : Date.now() + uploadTtl;
    byObjectKey.set(stored.objectKey, stored);
    return json(200, {
      expires_at: new Date(stored.uploadExpiresAt).toISOString(),
      objectKey: stored.objectKey,
      requestId: stored.requestId,
      status: 'pending_upload',
      upload_url: signer.sign(context.baseUrl(), UPLOAD_BUCKET, stored.objectKey, stored.uploadExpiresAt),
    });
  }

  const find = (req: EmulatorRequest): StoredRequest | EmulatorResponse => {
    const stored = requests.get(req.params.requestId);
    if (!stored || stored.namespace !== req.params.namespace) {
      return json(404, { statusCode: 404, error: 'Not Found', message: `Request ${req.params.requestId} not found in namespace ${req.params.namespace}` });
    }
    return stored;
  };

  const dataUrl = (stored: StoredRequest): { url: string; expiresAt: string } => {
    const expires = Date.now() + dataTtl;
    return { url: signer.sign(context.baseUrl(), RESULTS_BUCKET, `results/${stored.namespace}/${stored.requestId}.jsonl`, expires), expiresAt: new Date(expires).toISOString() };
  };

  function status(req: EmulatorRequest): EmulatorResponse {
    const refused = guard(req);
    if (refused) return refused;
    const stored = find(req);
    if (!('requestId' in stored)) return stored;
    const state = stateOf(stored, delays);
    const failure = state === 'failed' ? { error: failureOf(stored) } : {};
    if (stored.kind === 'import') {
      const ready = state === 'succeeded' ? dataUrl(stored) : undefined;
      return json(200, {
        data_count: state === 'succeeded' ? objectCount(stored) : 0,
        data_expires_at: ready?.expiresAt ?? '',
        data_url: ready?.url ?? '',
        namespace: stored.namespace,
        request_id: stored.requestId,
        status: state,
        ...failure,
      });
    }
    const data = state === 'succeeded' ? stored.ids!.map((id) => resultItem(stored.namespace, id)) : [];
    const answer = json(200, { data, namespace: stored.namespace, request_id: stored.requestId, status: state, ...failure });
    if (Buffer.byteLength(answer.body as string) > inlineLimit) {
      return badRequest(`The status response would exceed ${inlineLimit} bytes; use GET /v1/data/${stored.namespace}/requests/${stored.requestId}/results/download-url`, 413);
    }
    return answer;
  }

  function downloadUrl(req: EmulatorRequest): EmulatorResponse {
    const refused = guard(req);
    if (refused) return refused;
    const stored = find(req);
    if (!('requestId' in stored)) return stored;
    const state = stateOf(stored, delays);
    if (state !== 'succeeded') return json(409, { statusCode: 409, error: 'Conflict', message: `Request ${stored.requestId} has no results (status ${state})` });
    const { url, expiresAt } = dataUrl(stored);
    return json(200, { request_id: stored.requestId, namespace: stored.namespace, download_url: url, expires_at: expiresAt, data_count: objectCount(stored) });
  }

  async function updateSettings(req: EmulatorRequest): Promise<EmulatorResponse> {
    const read = await jsonBody(req);
    if ('refused' in read) return read.refused;
    const body = read.body;
    const schema = (body as { schema?: unknown } | null)?.schema;
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return badRequest('"schema" must be an object of field settings');
    for (const [field, setting] of Object.entries(schema)) {
      const problem = settingProblem(setting);
      if (problem) return badRequest(`schema.${field}: ${problem}`);
    }
    settings.set(req.params.namespace, schema as Record<string, unknown>);
    return json(200, { namespace: req.params.namespace, status: 'updated' });
  }

  async function upload(req: EmulatorRequest): Promise<EmulatorResponse> {
    const record: SafetykitUploadRecord = {
      requestId: undefined,
      status: 0,
      bytes: 0,
      contentType: req.headers['content-type'],
      contentLength: req.headers['content-length'],
      hadAuthorization: req.headers.authorization !== undefined,
    };
    uploads.push(record);
    const answer = await storeObject(req, record);
    record.status = answer.status;
    if (answer.status !== 200) req.raw.resume();
    return answer;
  }

  async function storeObject(req: EmulatorRequest, record: SafetykitUploadRecord): Promise<EmulatorResponse> {
    const refused = signer.check(req, UPLOAD_BUCKET);
    if (refused) return refused;
    const stored = byObjectKey.get(req.params.key);
    if (!stored) return s3Error(404, 'NoSuchUpload', 'The specified upload does not exist.');
    record.requestId = stored.requestId;
    if (record.hadAuthorization) return s3Error(400, 'InvalidArgument', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified');
    if (req.headers['content-length'] === undefined) return s3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
    uploadDir ??= mkdtempSync(join(options.uploadDir ?? tmpdir(), 'inference-streams-safetykit-'));
    const filePath = join(uploadDir, `${stored.requestId}-${uploads.length}.jsonl`);
    stored.uploading = true;
    try {
      record.bytes = await storeUpload(req, filePath, Number(req.headers['content-length']));
    } catch (error) {
      return s3Error(400, 'IncompleteBody', `The request body terminated unexpectedly (${(error as Error).message})`);
    } finally {
      stored.uploading = false;
    }
    // An object store overwrites: a second PUT replaces the file and starts ingestion again.
    if (stored.filePath) rmSync(stored.filePath, { force: true });
    Object.assign(stored, { filePath, bytes: record.bytes, uploadedAt: Date.now(), processing: undefined, processed: undefined });
    const etag = `"${hash32(record.bytes, created).toString(16)}"`;
    // A short body (S3 sends none) so that an injected mid-response reset really cuts the answer.
    return json(200, { etag, bytes: record.bytes }, { etag });
  }

  function download(req: EmulatorRequest): EmulatorResponse {
    const refused = signer.check(req, RESULTS_BUCKET);
    if (refused) return refused;
    const match = /^results\/([^/]+)\/([^/]+)\.jsonl$/.exec(req.params.key);
    const stored = match ? requests.get(match[2]) : undefined;
    if (!stored || stored.namespace !== match![1]) return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
    return { status: 200, headers: { 'content-type': 'application/x-ndjson' }, body: resultsStream(stored) };
  }

  const ns = '/v1/data/(?<namespace>[^/]+)';
  const routes: Route[] = [
    { name: 'safetykit.add', method: 'POST', pattern: new RegExp(`^${ns}$`), handle: add },
    { name: 'safetykit.import', method: 'POST', pattern: new RegExp(`^${ns}/import$`), handle: startImport },
    { name: 'safetykit.uploadUrl', method: 'POST', pattern: new RegExp(`^${ns}/requests/upload-url$`), handle: startImport },
    { name: 'safetykit.status', method: 'GET', pattern: new RegExp(`^${ns}/requests/(?<requestId>[^/]+)$`), handle: status },
    { name: 'safetykit.downloadUrl', method: 'GET', pattern: new RegExp(`^${ns}/requests/(?<requestId>[^/]+)/results/download-url$`), handle: downloadUrl },
    { name: 'safetykit.settings', method: 'PUT', pattern: new RegExp(`^${ns}/settings$`), handle: updateSettings },
    { name: 'safetykit.upload', method: 'PUT', pattern: new RegExp(`^/_objects/${UPLOAD_BUCKET}/(?<key>.+)$`), handle: upload, resetMidBody: true },
    { name: 'safetykit.results', method: 'GET', pattern: new RegExp(`^/_objects/${RESULTS_BUCKET}/(?<key>.+)$`), handle: download },
  ];

  const control: SafetykitControl = {
    failNextRequest: (reason = 'Ingestion failed (emulated failure)') => void pendingFailures.push(reason),
    expireNextUploadUrls: (count = 1) => void (urlsToExpire += count),
    setDelays: (next) => Object.assign(delays, next),
    uploads: () => uploads.map((u) => ({ ...u })),
    settings: (namespace) => settings.get(namespace),
    request: (requestId) => {
      const stored = requests.get(requestId);
      return stored && { state: stateOf(stored, delays), kind: stored.kind, objects: objectCount(stored) };
    },
    importedIds: async (namespace) => {
      const counts = new Map<string, number>();
      for (const stored of requests.values()) {
        if (stored.kind !== 'import' || stored.namespace !== namespace || !stored.filePath) continue;
        for await (const line of uploadedLines(stored.filePath)) {
          if (line.trim().length === 0) continue;
          const id = String((JSON.parse(line) as { id?: unknown }).id);
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      }
      return counts;
    },
    addedIds: (namespace) => {
      const counts = new Map<string, number>();
      for (const stored of requests.values()) {
        if (stored.kind !== 'add' || stored.namespace !== namespace) continue;
        for (const id of stored.ids ?? []) counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      return counts;
    },
    importedLines: async (namespace) => {
      const lines: string[] = [];
      for (const stored of requests.values()) {
        if (stored.kind !== 'import' || stored.namespace !== namespace || !stored.filePath) continue;
        for await (const line of uploadedLines(stored.filePath)) if (line.trim().length > 0) lines.push(line);
      }
      return lines;
    },
  };
  return { routes, control };
}

function settingProblem(setting: unknown): string | undefined {
  if (typeof setting !== 'object' || setting === null || Array.isArray(setting)) return 'must be an object';
  for (const [key, value] of Object.entries(setting)) {
    if (!SETTINGS_FIELDS.has(key)) return `unknown setting "${key}" (known: ${[...SETTINGS_FIELDS].join(', ')})`;
    if (key === 'field_limit') {
      if (!Number.isInteger(value) || (value as number) < 1) return 'field_limit must be a positive integer';
    } else if (typeof value !== 'string' || value.length === 0) {
      return `${key} must be a non-empty string`;
    }
  }
  return undefined;
}
