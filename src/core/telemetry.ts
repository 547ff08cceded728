/**
 * Spans and metrics through `@opentelemetry/api` only: a no-op until the application registers an
 * SDK (a TracerProvider / MeterProvider), so the library costs nothing measurable without one and
 * plugs into whatever the application already exports to.
 *
 * This file is the one list of what we emit: span names, attribute keys and metric instruments.
 * Attribute values never carry a key, token, password or signed URL: endpoints are templates
 * (`GET /v1/data/{namespace}/requests/{id}`), never a URL.
 */
import { metrics, trace, type Counter, type Gauge, type Histogram, type Meter, type MeterProvider, type Tracer, type UpDownCounter } from '@opentelemetry/api';
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
  /** Why a request is retried: `429`, `503`, `connection`, `timeout`, `truncated`, … */
  retryReason: 'inference_streams.retry.reason',
  /** The OpenTelemetry name of an error class, e.g. `ServerError`. */
  errorType: 'error.type',
  /** `jsonl`, `csv`, `parquet`, `duckdb`, `postgres`, `stdout`, `safetykit`, `predictions`… */
  destination: 'inference_streams.destination',
  /** `export`, `predict`, … for a worker's jobs. */
  jobKind: 'inference_streams.job.kind',
  /** `completed`, `failed`, `handed_back` for a worker's jobs. */
  jobOutcome: 'inference_streams.job.outcome',
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
  /** The adaptive predict concurrency level, last value. */
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
    requestDuration: meter.createHistogram(METRIC.requestDuration, { description: 'HTTP request duration', unit: 's' }),
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
