/**
 * Spans and metrics through `@opentelemetry/api` only: a no-op until the application registers an
 * SDK (a TracerProvider / MeterProvider), so the library costs nothing measurable without one and
 * plugs into whatever the application already exports to.
 *
 * This file is the one list of what we emit: span names, attribute keys and metric instruments.
 * Attribute values never carry a key, token, password or signed URL: endpoints are templates
 * (`GET /v1/data/{namespace}/requests/{id}`), never a URL.
 */
import {
  SpanStatusCode,
  context,
  metrics,
  trace,
  type Attributes,
  type Context,
  type Counter,
  type Gauge,
  type Histogram,
  type Meter,
  type MeterProvider,
  type Span,
  type Tracer,
  type UpDownCounter,
} from '@opentelemetry/api';
import { ApiError, ConnectionError, TimeoutError, redact } from './errors.js';
import { VERSION } from './version.js';

/** The instrumentation scope of every tracer and meter of this library. */
export const INSTRUMENTATION_SCOPE = 'inference-streams';

/** Attribute keys (OpenTelemetry semantic conventions where one exists). */
export const ATTR = {
  /** `innerworks`, `safetykit` or `reinfer`. */
  vendor: 'inference_streams.vendor',
  /** The endpoint template, e.g. `GET /api/v1/innerworks/inference/batch`. */
  endpoint: 'inference_streams.endpoint',
  httpMethod: 'http.request.method',
  httpStatus: 'http.response.status_code',
  /** 1 for the first try of a request, 2 for its first retry, … */
  attempt: 'inference_streams.attempt',
  /** Why a request is retried: `429`, `503`, `connection`, `timeout`, `truncated`, … (on the retry's span: why the attempt before failed). */
  retryReason: 'inference_streams.retry.reason',
  /** The backoff waited before this retry, in ms (a 429's Retry-After included). */
  retryDelayMs: 'inference_streams.retry.delay_ms',
  /** Semantic conventions' count of re-sends: `attempt - 1`, set on retries only. */
  resendCount: 'http.request.resend_count',
  /** Request body bytes (a string/Buffer's length, or a streamed body's Content-Length). */
  requestBodySize: 'http.request.body.size',
  /** Innerworks: 1 for the first page a cursor fetched, … */
  page: 'inference_streams.page',
  /** Records a page carried, or objects a batch or upload carried. */
  records: 'inference_streams.records',
  /** Reinfer: documents in a predict batch (or in one request of a split batch). */
  documents: 'inference_streams.documents',
  /** Reinfer: times a refused batch was split in halves. */
  splits: 'inference_streams.splits',
  /** SafetyKit import: 0-based index of the part uploaded. */
  part: 'inference_streams.part',
  /** The OpenTelemetry name of an error class, e.g. `ServerError`. */
  errorType: 'error.type',
  /** `jsonl`, `csv`, `parquet`, `duckdb`, `postgres`, `stdout`, `safetykit`, `predictions`… */
  destination: 'inference_streams.destination',
  /** `export`, `predict`, … for a worker's jobs. */
  jobKind: 'inference_streams.job.kind',
  /** `completed`, `failed`, `handed_back` for a worker's jobs. */
  jobOutcome: 'inference_streams.job.outcome',
} as const;

/** The services a request goes to (an import's object-store PUT counts as `safetykit`). */
export type Vendor = 'innerworks' | 'safetykit' | 'reinfer';

/**
 * Span names of the library's own operations. A request's span is named by its endpoint template
 * (`POST /api/v1/datasets/{project}/{dataset}/labellers/{version}/predict`), one span per attempt.
 */
export const SPAN = {
  /** One Innerworks page: its request(s), then the parse. */
  innerworksPage: 'innerworks.page',
  /** One Reinfer predict batch, with every request of its bisection. */
  predictBatch: 'reinfer.predict.batch',
  /** One SafetyKit add request's batch. */
  safetykitAddBatch: 'safetykit.add.batch',
  /** One SafetyKit import part: `POST …/import` (again when the URL expired) and the PUT of its bytes. */
  safetykitUpload: 'safetykit.import.upload',
} as const;

/** Metric names (dots; a Prometheus exporter writes them with underscores). */
export const METRIC = {
  records: 'inference_streams.records',
  pages: 'inference_streams.pages',
  requests: 'inference_streams.requests',
  retries: 'inference_streams.retries',
  requestsInFlight: 'inference_streams.requests.in_flight',
  requestDuration: 'inference_streams.request.duration',
  bytesUploaded: 'inference_streams.upload.bytes',
  predictBatchSize: 'inference_streams.predict.batch_size',
  predictConcurrency: 'inference_streams.predict.concurrency',
  workerJobsActive: 'inference_streams.worker.jobs.active',
  workerJobs: 'inference_streams.worker.jobs',
  workerPaused: 'inference_streams.worker.paused',
} as const;

/**
 * The names the library emits, for dashboards, alerts and tests: the instrumentation scope, span
 * names, metric names and attribute keys.
 */
export const TELEMETRY = Object.freeze({ scope: INSTRUMENTATION_SCOPE, spans: SPAN, metrics: METRIC, attributes: ATTR });

/** The instruments of one MeterProvider. */
export interface Instruments {
  /** Records written, by `destination`. */
  records: Counter;
  /** Pages (or batches) written, by `destination`. */
  pages: Counter;
  /** HTTP requests finished, by `vendor`, `endpoint`, `http.response.status_code` (0 when none came). */
  requests: Counter;
  /** Retries, by `vendor`, `endpoint`, `retry.reason`. */
  retries: Counter;
  /** Requests in flight, by `vendor`, `endpoint`. */
  requestsInFlight: UpDownCounter;
  /** Request duration in seconds, by `vendor`, `endpoint`, status. */
  requestDuration: Histogram;
  /** Body bytes uploaded, by `vendor`, `endpoint`. */
  bytesUploaded: Counter;
  /** Documents per predict request. */
  predictBatchSize: Histogram;
  /** Predict requests allowed in flight (the adaptive level with `concurrency: 'auto'`), last value. */
  predictConcurrency: Gauge;
  /** A worker's jobs running now, by `job.kind`. */
  workerJobsActive: UpDownCounter;
  /** A worker's jobs finished, by `job.kind` and `job.outcome`. */
  workerJobs: Counter;
  /** 1 while the worker paused itself (its API, database or credentials failing), else 0. */
  workerPaused: Gauge;
}

let cachedProvider: MeterProvider | undefined;
let cachedInstruments: Instruments | undefined;

/**
 * The instruments of the MeterProvider registered now. The metrics API has no proxy provider (an
 * instrument made before `setGlobalMeterProvider` stays a no-op forever), so instruments are
 * made again whenever the registered provider changes; the check is one identity comparison.
 */
export function instruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (provider === cachedProvider && cachedInstruments) return cachedInstruments;
  cachedProvider = provider;
  cachedInstruments = makeInstruments(provider.getMeter(INSTRUMENTATION_SCOPE, VERSION));
  return cachedInstruments;
}

function makeInstruments(meter: Meter): Instruments {
  return {
    records: meter.createCounter(METRIC.records, { description: 'Records written, by destination', unit: '{record}' }),
    pages: meter.createCounter(METRIC.pages, { description: 'Pages or batches written, by destination', unit: '{page}' }),
    requests: meter.createCounter(METRIC.requests, { description: 'HTTP requests finished, by vendor, endpoint and status', unit: '{request}' }),
    retries: meter.createCounter(METRIC.retries, { description: 'Retried requests, by vendor, endpoint and reason', unit: '{retry}' }),
    requestsInFlight: meter.createUpDownCounter(METRIC.requestsInFlight, { description: 'HTTP requests in flight', unit: '{request}' }),
    requestDuration: meter.createHistogram(METRIC.requestDuration, {
      description: 'HTTP request duration',
      unit: 's',
      // The SDK's default buckets (0, 5, 10, 25 … 10 000) are for milliseconds: in seconds every
      // request would land in the first. These are the HTTP semantic conventions', up to the
      // minutes an import's PUT may take.
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120, 300] },
    }),
    bytesUploaded: meter.createCounter(METRIC.bytesUploaded, { description: 'Request body bytes uploaded', unit: 'By' }),
    predictBatchSize: meter.createHistogram(METRIC.predictBatchSize, {
      description: 'Documents per predict request',
      unit: '{document}',
      advice: { explicitBucketBoundaries: [1, 8, 32, 128, 512, 1024, 2048, 4096] },
    }),
    predictConcurrency: meter.createGauge(METRIC.predictConcurrency, { description: 'Adaptive predict concurrency level', unit: '{request}' }),
    workerJobsActive: meter.createUpDownCounter(METRIC.workerJobsActive, { description: "A worker's jobs running now", unit: '{job}' }),
    workerJobs: meter.createCounter(METRIC.workerJobs, { description: "A worker's jobs finished, by kind and outcome", unit: '{job}' }),
    workerPaused: meter.createGauge(METRIC.workerPaused, { description: '1 while the worker paused itself, else 0', unit: '1' }),
  };
}

/** The tracer (tracers are proxied by the API, so one obtained early still follows a later SDK). */
export function tracer(): Tracer {
  return trace.getTracer(INSTRUMENTATION_SCOPE, VERSION);
}

/**
 * Run `fn` in a span of ours named `name`, child of `parent` (default: the active context). `fn`
 * gets the span's context to hand on explicitly (so parenting holds without an async context
 * manager) and runs inside `context.with` (so it holds for anything else, with one). The span ends
 * when `fn` settles; a failure sets its status to ERROR with the error's class as `error.type`.
 */
export async function inSpan<T>(name: string, attributes: Attributes | undefined, fn: (spanContext: Context, span: Span) => Promise<T>, parent: Context = context.active()): Promise<T> {
  const span = tracer().startSpan(name, { attributes }, parent);
  const spanContext = trace.setSpan(parent, span);
  try {
    return await context.with(spanContext, fn, undefined, spanContext, span);
  } catch (error) {
    markFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Set a span's status to ERROR: `error.type` is the error's class, the message is kept free of secrets and URLs. */
export function markFailed(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  const type = error instanceof Error ? error.name : typeof error;
  span.setAttribute(ATTR.errorType, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: safeMessage(error) });
}

// Anything URL-shaped: a pre-signed URL's path and query stay out of telemetry altogether.
// A trailing `:`, `,`, `.`, `;` or `)` is the sentence's, not the URL's.
const URL_LIKE = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]*?(?=[:,.;)]?(?:[\s"'<>]|$))/gi;

/** An error's message as telemetry may carry it: redacted, URLs replaced by `{url}`, at most 300 characters. */
export function safeMessage(error: unknown): string {
  const message = redact(error instanceof Error ? error.message : String(error)).replace(URL_LIKE, '{url}');
  return message.length > 300 ? `${message.slice(0, 297)}...` : message;
}

/**
 * Why a request is retried, as the `retry.reason` attribute: the status for an HTTP error (`429`,
 * `503`), `timeout`, `truncated` (a response body cut short), `connection` for any other
 * transport failure, else the error's class.
 */
export function retryReason(error: unknown): string {
  if (error instanceof ApiError) return String(error.status);
  if (error instanceof TimeoutError) return 'timeout';
  if (error instanceof ConnectionError) return error.code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' ? 'truncated' : 'connection';
  return error instanceof Error ? error.name : 'unknown';
}
