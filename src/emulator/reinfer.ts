/**
 * Emulator of the Reinfer prediction API (seed 002): `predict`, `predict-raw-emails`,
 * `predict-comments` and `validation` for a pinned model version, with Bearer auth, the
 * documented limits, deterministic predictions, and a latency model with a concurrency limit
 * (429 + Retry-After above it) so that client concurrency tuning is real.
 */
import { bearerToken, hash32, json, pause, seededRandom } from './http-util.js';
import { checkDocument, checkRawEmail, checkRawEmailFields, isRefusal, messagesOf, readDocumentList, readLabelOptions, refusal, MAX_DOCUMENTS, type Refusal } from './reinfer-checks.js';
import { commentUid, sourceIds, storedComment, validationFor } from './reinfer-data.js';
import { parseRawEmail } from './reinfer-email.js';
import { commentText, findEntities, labelProperties, predictLabels, sentimentOf, type LabelOptions, type WireMessage } from './reinfer-model.js';
import type { EmulatorContext, EmulatorRequest, EmulatorResponse, Route } from './types.js';

/** Options of the Reinfer emulator (`startEmulator({reinfer: {...}})`). */
export interface ReinferEmulatorOptions {
  /** Fixed part of every predict answer's latency, in ms. Default 0. */
  latencyMs?: number;
  /** Latency per document (or uid) of a predict request, in ms. Default 0. */
  perDocumentMs?: number;
  /** Random extra latency per request, uniform in [0, jitterMs), seeded. Default 0. */
  jitterMs?: number;
  /** Predict requests handled at once; one more is answered 429 with Retry-After. Default unlimited. */
  maxConcurrent?: number;
  /** Retry-After of the concurrency 429, in ms (sent as `retry-after-ms`, rounded up in `Retry-After`). Default 1000. */
  retryAfterMs?: number;
  /** Accepted bearer tokens. Default any non-empty token. */
  tokens?: string[];
  /** The version `live` points at. Default 5. */
  liveVersion?: number;
  /** The version `staging` points at (also `latest`, the newest). Default 6. */
  stagingVersion?: number;
  /** Sources in the comment store of `predict-comments`. Default 2. */
  sources?: number;
  /** Comments per source in that store. Default 1000. */
  commentsPerSource?: number;
}

/** What a predict request asked for (documents are not kept). */
export interface ReinferRequestRecord {
  route: string;
  project: string;
  dataset: string;
  version: string;
  /** Documents or uids in the request. */
  count: number;
  threshold: unknown;
  labels: unknown;
  transformTag?: unknown;
  includeComments?: unknown;
}

/** Run-time control of the Reinfer emulator. */
export interface ReinferControl {
  /** The last 1000 predict requests, oldest first. */
  requests(): ReinferRequestRecord[];
  /** Predict requests being handled now. */
  inFlight(): number;
  /** Documents (or uids) in every predict request that reached the model since start: what a run paid for, resends included. */
  documentsReceived(): number;
  /** Change the latency model or concurrency limit while running. */
  configure(options: Pick<ReinferEmulatorOptions, 'latencyMs' | 'perDocumentMs' | 'jitterMs' | 'maxConcurrent' | 'retryAfterMs'>): void;
  /** The first `count` uids of the comment store (valid input for `predict-comments`). */
  commentUids(count: number): string[];
  /** The versions `live`, `staging` and `latest` resolve to. */
  versions: { live: number; staging: number; latest: number };
}

const BASE = '^/api/v1/datasets/(?<project>[^/]+)/(?<dataset>[^/]+)/labellers/(?<version>[^/]+)';

export function reinferRoutes(options: ReinferEmulatorOptions, context: EmulatorContext): { routes: Route[]; control: ReinferControl } {
  const settings = {
    latencyMs: options.latencyMs ?? 0,
    perDocumentMs: options.perDocumentMs ?? 0,
    jitterMs: options.jitterMs ?? 0,
    maxConcurrent: options.maxConcurrent ?? Infinity,
    retryAfterMs: options.retryAfterMs ?? 1000,
  };
  const live = options.liveVersion ?? 5;
  const staging = options.stagingVersion ?? 6;
  const versions = { live, staging, latest: Math.max(live, staging) };
  const tokens = options.tokens ? new Set(options.tokens) : undefined;
  const sources = sourceIds(context.seed, options.sources ?? 2);
  const perSource = options.commentsPerSource ?? 1000;
  const jitter = seededRandom(hash32(context.seed, 0x5e1f));
  const records: ReinferRequestRecord[] = [];
  let documentsReceived = 0;
  let inFlight = 0;

  const cache = new PredictionCache();

  /** Auth, version and body: the common front of the three predict routes. */
  async function front(req: EmulatorRequest, routeName: string): Promise<Front> {
    const denied = authenticate(req, tokens);
    if (denied) {
      req.raw.resume();
      return { refused: denied };
    }
    const version = resolveVersion(req.params.version, versions, false);
    if (version === undefined) {
      req.raw.resume();
      return { refused: versionNotFound(req) };
    }
    let body: unknown;
    try {
      body = JSON.parse((await req.body()).toString('utf8'));
    } catch {
      return { refused: error(refusal(400, 'request body is not valid JSON')) };
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) return { refused: error(refusal(400, 'request body must be a JSON object')) };
    const b = body as Record<string, unknown>;
    const count = Array.isArray(b.documents) ? b.documents.length : Array.isArray(b.uids) ? b.uids.length : 0;
    records.push({
      route: routeName,
      project: req.params.project,
      dataset: req.params.dataset,
      version: req.params.version,
      count,
      threshold: b.threshold,
      labels: b.labels,
      transformTag: b.transform_tag,
      includeComments: b.include_comments,
    });
    if (records.length > 1000) records.shift();
    documentsReceived += count;
    return { body: b, version, count };
  }

  /** The latency model and the concurrency limit around a predict handler. */
  function limited(handler: (req: EmulatorRequest) => Promise<Answer>): Route['handle'] {
    return async (req) => {
      if (inFlight >= settings.maxConcurrent) {
        req.raw.resume();
        return json(429, { status: 'error', message: `Too many concurrent requests (at most ${settings.maxConcurrent}); retry later` }, {
          'retry-after': String(Math.ceil(settings.retryAfterMs / 1000)),
          'retry-after-ms': String(settings.retryAfterMs),
        });
      }
      inFlight++;
      try {
        const started = Date.now();
        const { response, count } = await handler(req);
        if (response.status === 200) {
          const wait = settings.latencyMs + settings.perDocumentMs * count + (settings.jitterMs > 0 ? jitter() * settings.jitterMs : 0);
          await pause(wait - (Date.now() - started), req.signal);
        }
        return response;
      } finally {
        inFlight--;
      }
    };
  }

  const model = (version: number) => ({ version, time: new Date(Date.UTC(2025, 0, version, 12)).toISOString() });

  /** A predict route: auth, version and body checks (`front`), then the endpoint's own answer. */
  function viaFront(routeName: string, answer: (body: Record<string, unknown>, version: number) => Promise<EmulatorResponse>) {
    return async (req: EmulatorRequest): Promise<Answer> => {
      const checked = await front(req, routeName);
      if ('refused' in checked) return { response: checked.refused, count: 0 };
      return { response: await answer(checked.body, checked.version), count: checked.count };
    };
  }

  async function predictBody(body: Record<string, unknown>, version: number): Promise<EmulatorResponse> {
    const documents = readDocumentList(body);
    if (isRefusal(documents)) return error(documents);
    const labelOptions = readLabelOptions(body);
    if (isRefusal(labelOptions)) return error(labelOptions);
    for (const [i, doc] of documents.entries()) {
      const problem = checkDocument(doc, i);
      if (problem) return error(problem);
    }
    const results = documents.map((doc) => cache.predict(messagesOf(doc), labelOptions));
    return predictAnswer(results, model(version));
  }

  async function predictRawEmailsBody(body: Record<string, unknown>, version: number): Promise<EmulatorResponse> {
    const fields = checkRawEmailFields(body);
    if (fields) return error(fields);
    const documents = readDocumentList(body);
    if (isRefusal(documents)) return error(documents);
    const labelOptions = readLabelOptions(body);
    if (isRefusal(labelOptions)) return error(labelOptions);
    const comments = [];
    for (const [i, doc] of documents.entries()) {
      const where = `documents[${i}]`;
      const problem = checkRawEmail(doc, i);
      if (problem) return error(problem);
      const parsed = parseRawEmail((doc as { raw_email?: unknown }).raw_email);
      if (typeof parsed === 'string') return error(refusal(400, `${where}.${parsed}`));
      const uploaded = (doc as { user_properties?: unknown }).user_properties;
      for (const [key, value] of Object.entries((uploaded ?? {}) as Record<string, unknown>)) {
        if (key in parsed.user_properties && parsed.user_properties[key] !== value) {
          return error(refusal(422, `${where}.user_properties["${key}"] conflicts with the value generated from the email (${JSON.stringify(parsed.user_properties[key])})`));
        }
      }
      parsed.user_properties = { ...parsed.user_properties, ...(uploaded as Record<string, string | number> | undefined) };
      comments.push(parsed);
    }
    const results = comments.map((c) => cache.predict(c.messages, labelOptions));
    return predictAnswer(results, model(version), body.include_comments === true ? comments : undefined);
  }

  async function predictCommentsBody(body: Record<string, unknown>, version: number): Promise<EmulatorResponse> {
    if (!Array.isArray(body.uids)) return error(refusal(400, 'uids is required (an array of at most 4096 "source_id.comment_id" strings)'));
    if (body.uids.length > MAX_DOCUMENTS) return error(refusal(400, `too many uids: ${body.uids.length} (at most ${MAX_DOCUMENTS})`));
    const labelOptions = readLabelOptions(body);
    if (isRefusal(labelOptions)) return error(labelOptions);
    const predictions = [];
    for (const [i, uid] of (body.uids as unknown[]).entries()) {
      if (typeof uid !== 'string' || !/^[^.\s]+\.[^.\s]+$/.test(uid)) {
        return error(refusal(400, `uids[${i}]: ${JSON.stringify(uid)} is not of the form "source_id.comment_id"`));
      }
      const comment = storedComment(context.seed, sources, perSource, uid);
      if (!comment) return error(refusal(400, `uids[${i}]: no comment "${uid}"`));
      const r = cache.predict(comment.messages, labelOptions);
      predictions.push(`{"uid":${JSON.stringify(uid)},"labels":${r.labels},"entities":${r.entities},"label_properties":${r.label_properties}}`);
    }
    return jsonText(`{"status":"ok","model":${JSON.stringify(model(version))},"predictions":[${predictions.join(',')}]}`);
  }

  function validation(req: EmulatorRequest): EmulatorResponse {
    const denied = authenticate(req, tokens);
    if (denied) return denied;
    const version = resolveVersion(req.params.version, versions, true);
    if (version === undefined) return versionNotFound(req);
    return json(200, { status: 'ok', validation: validationFor(context.seed, version) });
  }

  const routes: Route[] = [
    { name: 'reinfer.predict', method: 'POST', pattern: new RegExp(`${BASE}/predict$`), handle: limited(viaFront('reinfer.predict', predictBody)) },
    { name: 'reinfer.predict-raw-emails', method: 'POST', pattern: new RegExp(`${BASE}/predict-raw-emails$`), handle: limited(viaFront('reinfer.predict-raw-emails', predictRawEmailsBody)) },
    { name: 'reinfer.predict-comments', method: 'POST', pattern: new RegExp(`${BASE}/predict-comments$`), handle: limited(viaFront('reinfer.predict-comments', predictCommentsBody)) },
    { name: 'reinfer.validation', method: 'GET', pattern: new RegExp(`${BASE}/validation$`), handle: validation },
  ];
  const control: ReinferControl = {
    requests: () => records.slice(),
    inFlight: () => inFlight,
    documentsReceived: () => documentsReceived,
    configure(more) {
      for (const [key, value] of Object.entries(more)) if (value !== undefined) (settings as Record<string, number>)[key] = value;
    },
    commentUids: (count) => Array.from({ length: Math.min(count, sources.length * perSource) }, (_, i) => commentUid(sources, i)),
    versions,
  };
  return { routes, control };
}

type Front = { refused: EmulatorResponse } | { body: Record<string, unknown>; version: number; count: number };
/** A handler's answer and the documents it covered (for the latency model). */
interface Answer {
  response: EmulatorResponse;
  count: number;
}

function error(problem: Refusal): EmulatorResponse {
  return json(problem.status, { status: 'error', message: problem.message });
}

function authenticate(req: EmulatorRequest, tokens: Set<string> | undefined): EmulatorResponse | undefined {
  const token = bearerToken(req.headers.authorization);
  if (!token) return json(401, { status: 'error', message: 'Authentication required: send the header "Authorization: Bearer $REINFER_TOKEN"' });
  if (tokens && !tokens.has(token)) return json(401, { status: 'error', message: 'Invalid API token' });
  return undefined;
}

/** An integer version that exists, `live`, `staging`, or (for validation) `latest`. */
function resolveVersion(value: string, versions: ReinferControl['versions'], allowLatest: boolean): number | undefined {
  if (value === 'live') return versions.live;
  if (value === 'staging') return versions.staging;
  if (value === 'latest' && allowLatest) return versions.latest;
  if (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= versions.latest) return Number(value);
  return undefined;
}

function versionNotFound(req: EmulatorRequest): EmulatorResponse {
  return json(404, {
    status: 'error',
    message: `Model version '${req.params.version}' not found for dataset '${req.params.project}/${req.params.dataset}'`,
  });
}

/** One comment's prediction, each part already serialized (answers are joined, not re-stringified). */
interface DocumentPrediction {
  labels: string;
  entities: string;
  label_properties: string;
  sentiment: number;
}

/** The `/predict` and `/predict-raw-emails` answer, arrays index-aligned with the documents. */
function predictAnswer(results: DocumentPrediction[], model: object, comments?: unknown[]): EmulatorResponse {
  const column = (key: 'labels' | 'entities' | 'label_properties') => `[${results.map((r) => r[key]).join(',')}]`;
  const parts = ['{"status":"ok"'];
  if (comments) parts.push(`"comments":${JSON.stringify(comments)}`);
  parts.push(`"predictions":${column('labels')}`, `"entities":${column('entities')}`, `"label_properties":${column('label_properties')}`);
  parts.push(`"sentiment":[${results.map((r) => r.sentiment).join(',')}]`, `"model":${JSON.stringify(model)}}`);
  return jsonText(parts.join(','));
}

function jsonText(body: string): EmulatorResponse {
  return { status: 200, headers: { 'content-type': 'application/json' }, body };
}

/**
 * Predictions keyed by text and label options, so that the emulator stays cheap next to the
 * client it serves (benchmarks send many documents built from few texts). Bounded: cleared when full.
 */
class PredictionCache {
  private readonly entries = new Map<string, DocumentPrediction>();

  predict(messages: WireMessage[], options: LabelOptions): DocumentPrediction {
    const parts = messages.map((m) => `${m.subject?.text ?? ''}\u0000${m.body?.text ?? ''}\u0000${m.signature?.text ?? ''}`).join('\u0001');
    const key = `${options.threshold}|${options.labels ? JSON.stringify(options.labels) : ''}|${parts}`;
    let hit = this.entries.get(key);
    if (!hit) {
      const text = commentText(messages);
      hit = {
        labels: JSON.stringify(predictLabels(text, options)),
        entities: JSON.stringify(findEntities(messages)),
        label_properties: JSON.stringify(labelProperties(text)),
        sentiment: sentimentOf(text),
      };
      if (this.entries.size >= 10_000) this.entries.clear();
      this.entries.set(key, hit);
    }
    return hit;
  }
}
