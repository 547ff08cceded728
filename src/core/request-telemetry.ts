/**
 * The span and metrics of one HTTP attempt. `http.ts` opens one per request it sends; `withRetry`
 * numbers the attempts and says why a retry happened. A retried request is one span per attempt,
 * side by side under the same parent (the page, batch or upload), so the backoff shows as the gap
 * between them and each attempt has its own status code.
 */
import { SpanKind, SpanStatusCode, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { ATTR, instruments, markFailed, tracer, type Instruments, type Vendor } from './telemetry.js';

/** Where a call's request spans go: given by the page, batch or upload that makes the call. */
export interface TraceParent {
  /** The span the attempts sit under; default the active context. Passed explicitly so parenting holds without a context manager. */
  parent?: Context;
  /** More span attributes (say, the documents of a predict request). Not metric attributes. */
  attributes?: Attributes;
}

/** What a request is, for telemetry: set by the vendor client, passed through `withRetry` to `request()`. */
export interface RequestTelemetry extends TraceParent {
  vendor: Vendor;
  /** Method and path template, e.g. `POST /v1/data/{namespace}`; never a URL (a signed upload is `PUT {upload_url}`). */
  endpoint: string;
}

/** One attempt of a {@link RequestTelemetry}: filled in by `withRetry`. */
export interface AttemptTelemetry extends RequestTelemetry {
  /** 1 for the first try. */
  attempt: number;
  /** Why the attempt before this one failed (retries only). */
  retryReason?: string;
  /** The backoff waited before this attempt, in ms (retries only). */
  retryDelayMs?: number;
}

/** One attempt's span and metrics, from the first byte sent to the last byte received (or the failure). */
export class AttemptObserver {
  private readonly span: Span;
  private readonly started = performance.now();
  private readonly instruments: Instruments;
  /** `{vendor, endpoint}`: the attributes of in-flight and bytes; one object per attempt, not per record. */
  private readonly labels: Attributes;
  private status = 0;
  private done = false;

  constructor(
    telemetry: AttemptTelemetry,
    method: string,
    private readonly bodyBytes: number | undefined,
  ) {
    this.instruments = instruments();
    this.labels = { [ATTR.vendor]: telemetry.vendor, [ATTR.endpoint]: telemetry.endpoint };
    this.span = tracer().startSpan(telemetry.endpoint, { kind: SpanKind.CLIENT }, telemetry.parent);
    if (this.span.isRecording()) {
      this.span.setAttributes({ ...this.labels, [ATTR.httpMethod]: method, [ATTR.attempt]: telemetry.attempt, ...telemetry.attributes });
      if (bodyBytes !== undefined) this.span.setAttribute(ATTR.requestBodySize, bodyBytes);
      if (telemetry.attempt > 1) {
        this.span.setAttribute(ATTR.resendCount, telemetry.attempt - 1);
        if (telemetry.retryReason !== undefined) this.span.setAttribute(ATTR.retryReason, telemetry.retryReason);
        if (telemetry.retryDelayMs !== undefined) this.span.setAttribute(ATTR.retryDelayMs, telemetry.retryDelayMs);
      }
    }
    this.instruments.requestsInFlight.add(1, this.labels);
  }

  /** The response's headers came. */
  response(status: number): void {
    this.status = status;
    this.span.setAttribute(ATTR.httpStatus, status);
    // Semantic conventions: a client span fails on any 4xx or 5xx, with the status as error.type.
    if (status >= 400) {
      this.span.setAttribute(ATTR.errorType, String(status));
      this.span.setStatus({ code: SpanStatusCode.ERROR });
    }
  }

  /** The attempt is over: its body read, or failed with `error`. Only the first call counts. */
  end(error?: unknown): void {
    if (this.done) return;
    this.done = true;
    if (error !== undefined) markFailed(this.span, error);
    this.span.end();
    const seconds = (performance.now() - this.started) / 1000;
    const counted = { ...this.labels, [ATTR.httpStatus]: this.status };
    this.instruments.requestsInFlight.add(-1, this.labels);
    this.instruments.requests.add(1, counted);
    this.instruments.requestDuration.record(seconds, counted);
    // Bytes the server took: only an attempt it answered (a cut upload's bytes are not known).
    if (this.bodyBytes !== undefined && this.bodyBytes > 0 && this.status !== 0) this.instruments.bytesUploaded.add(this.bodyBytes, this.labels);
  }
}
