/**
 * Spans, with an OpenTelemetry SDK registered as an application would, over real HTTP to the
 * emulator: a span per request attempt (vendor, endpoint template, method, status, attempt, retry
 * reason and backoff) under a span per Innerworks page, Reinfer predict batch (every request of a
 * bisection under it) and SafetyKit add batch / import upload. Nothing a span carries may hold a
 * key, a token or a signed URL.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { exportInferenceResults } from '../src/innerworks/index.js';
import { predictDocuments, type PredictionResult } from '../src/reinfer/index.js';
import { dataWriter, importWriter } from '../src/safetykit/index.js';
import { ATTR, SPAN } from '../src/core/telemetry.js';
import { telemetryTests } from './helpers/otel.js';
import { tempDir } from './helpers/temp-dir.js';
import { conn, doc, docs, run } from './reinfer-helpers.js';

const INNERWORKS_KEY = 'emulator-innerworks-key';
const SAFETYKIT_KEY = 'sk-test-telemetry-0123456789';
const BATCH = 'GET /api/v1/innerworks/inference/batch';
const PREDICT = 'POST /api/v1/datasets/{project}/{dataset}/labellers/{version}/predict';

const setup = telemetryTests();
const dir = tempDir('telemetry-spans-');

const named = (spans: ReadableSpan[], name: string) => spans.filter((span) => span.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) => spans.filter((span) => parentOf(span) === parent.spanContext().spanId);

/** Everything a span carries that an exporter would send: name, attributes, events, status. */
function exported(spans: ReadableSpan[]): string {
  return JSON.stringify(spans.map((span) => ({ name: span.name, attributes: span.attributes, events: span.events, status: span.status, links: span.links })));
}

describe('spans', () => {
  it('an export: one span per page, a span per request attempt under it; a 503 and a 429 show as attempts with their status, reason and backoff', async () => {
    const telemetry = setup.register();
    // The second request fails with 503, then with 429 (Retry-After 5 ms): its page takes three attempts.
    setup.emulator().setFaults({ retryAfterMs: 5, script: [{ nth: 2, kind: '503', route: 'innerworks.batch' }, { nth: 3, kind: '429', route: 'innerworks.batch' }] });
    const file = join(dir(), 'export.jsonl');
    const summary = await exportInferenceResults({ file, apiKey: INNERWORKS_KEY, baseUrl: setup.emulator().url, batchSize: 10, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
    expect(summary.records).toBe(30);
    expect((await readFile(file, 'utf8')).split('\n').length).toBe(31);

    const spans = telemetry.spans();
    const pages = named(spans, SPAN.innerworksPage);
    const requests = named(spans, BATCH);
    // Three pages of 10 and the empty page that ends the export; 4 + 2 retried attempts.
    expect(pages.map((page) => page.attributes[ATTR.page]).sort()).toEqual([1, 2, 3, 4]);
    expect(pages.map((page) => page.attributes[ATTR.records]).sort()).toEqual([0, 10, 10, 10]);
    expect(requests).toHaveLength(6);
    // Without a context manager, the library's explicit parenting still puts each request under its page.
    for (const request of requests) {
      expect(pages.map((page) => page.spanContext().spanId)).toContain(parentOf(request));
      expect(request.kind).toBe(SpanKind.CLIENT);
      expect(request.attributes).toMatchObject({ [ATTR.vendor]: 'innerworks', [ATTR.endpoint]: BATCH, [ATTR.httpMethod]: 'GET' });
      expect(request.spanContext().traceId).toBe(pages.find((page) => page.spanContext().spanId === parentOf(request))!.spanContext().traceId);
    }
    const retried = pages.find((page) => childrenOf(spans, page).length === 3)!;
    expect(retried.attributes[ATTR.page]).toBe(2);
    const attempts = childrenOf(spans, retried).sort((a, b) => Number(a.attributes[ATTR.attempt]) - Number(b.attributes[ATTR.attempt]));
    expect(attempts.map((span) => [span.attributes[ATTR.attempt], span.attributes[ATTR.httpStatus], span.attributes[ATTR.retryReason], span.status.code])).toEqual([
      [1, 503, undefined, SpanStatusCode.ERROR],
      [2, 429, '503', SpanStatusCode.ERROR],
      [3, 200, '429', SpanStatusCode.UNSET],
    ]);
    expect(attempts[0].attributes[ATTR.errorType]).toBe('503');
    expect(attempts[2].attributes[ATTR.resendCount]).toBe(2);
    // The 429's Retry-After (5 ms) is the floor of the backoff before the third attempt.
    expect(attempts[2].attributes[ATTR.retryDelayMs]).toBeGreaterThanOrEqual(5);
    // The attempts follow one another: the backoff is the gap between them.
    expect(hrMs(attempts[1].startTime)).toBeGreaterThanOrEqual(hrMs(attempts[0].endTime));
    expect(hrMs(attempts[2].startTime)).toBeGreaterThanOrEqual(hrMs(attempts[1].endTime) + 5);

    expect(exported(spans)).not.toContain(INNERWORKS_KEY);
    expect(exported(spans)).not.toContain('checkpoint=');
    expect(exported(spans)).not.toContain(setup.emulator().url);
  });

  it('a predict whose batch is refused: one batch span holding every request of the bisection, each with its documents and status', async () => {
    const telemetry = setup.register();
    const inputs: unknown[] = docs(8);
    inputs[5] = { ...doc(5), timestamp: 'not a date' }; // refused by the server: the batch is split until it stands alone
    const stream = predictDocuments({ ...conn(setup.emulator()), batchSize: 8, onError: 'emit' });
    const out = await run<PredictionResult<unknown>>(stream, inputs);
    expect(out.filter((o) => 'error' in o).map((o) => o.index)).toEqual([5]);

    const spans = telemetry.spans();
    const [batch] = named(spans, SPAN.predictBatch);
    expect(named(spans, SPAN.predictBatch)).toHaveLength(1);
    expect(batch.attributes).toMatchObject({ [ATTR.documents]: 8, [ATTR.splits]: 3 });
    const requests = named(spans, PREDICT);
    expect(childrenOf(spans, batch)).toEqual(requests);
    // 8 refused → 4 ok + 4 refused → 2 ok + 2 refused → 1 ok + 1 refused.
    const sent = requests.map((span) => [span.attributes[ATTR.documents], span.attributes[ATTR.httpStatus]]);
    expect(sent.filter(([, status]) => status === 200).map(([documents]) => documents).sort()).toEqual([1, 2, 4]);
    expect(sent.filter(([, status]) => status !== 200).map(([documents]) => documents).sort((a, b) => Number(b) - Number(a))).toEqual([8, 4, 2, 1]);
    for (const request of requests) {
      expect(request.attributes).toMatchObject({ [ATTR.vendor]: 'reinfer', [ATTR.endpoint]: PREDICT, [ATTR.httpMethod]: 'POST', [ATTR.attempt]: 1 });
      expect(request.attributes[ATTR.requestBodySize]).toBeGreaterThan(0);
    }
    expect(exported(spans)).not.toContain(setup.emulator().env.REINFER_TOKEN);
    expect(exported(spans)).not.toContain('acme');
  });

  it("with a context manager registered, a predict's batches sit under the application's active span", async () => {
    const telemetry = setup.register({ contextManager: true });
    const tracer = trace.getTracer('the-application');
    await tracer.startActiveSpan('nightly predict', async (root) => {
      await run(predictDocuments({ ...conn(setup.emulator()), batchSize: 4 }), docs(10));
      root.end();
    });
    const spans = telemetry.spans();
    const [root] = named(spans, 'nightly predict');
    const batches = named(spans, SPAN.predictBatch);
    expect(batches).toHaveLength(3);
    for (const batch of batches) expect(parentOf(batch)).toBe(root.spanContext().spanId);
    for (const request of named(spans, PREDICT)) expect(batches.map((batch) => batch.spanContext().spanId)).toContain(parentOf(request));
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
  });

  it('an import: an upload span holding the import request and the PUT, named by a template; a 503 and a reset on the PUT are attempts of their own; no key or signed URL anywhere', async () => {
    const telemetry = setup.register();
    setup.emulator().injectFault('503', { route: 'safetykit.upload' });
    setup.emulator().injectFault('reset', { route: 'safetykit.upload' });
    const writer = importWriter({ baseUrl: setup.emulator().url, apiKey: SAFETYKIT_KEY, namespace: 'telemetry', spoolDir: dir(), retry: { baseDelayMs: 1, maxDelayMs: 5 }, pollIntervalMs: 5, maxPollIntervalMs: 10 });
    const objects = Array.from({ length: 50 }, (_, i) => ({ id: `doc-${i}`, title: `Article ${i}` }));
    await pipeline(Readable.from(objects), writer);
    expect(writer.summary?.objects).toBe(50);

    const spans = telemetry.spans();
    const [upload] = named(spans, SPAN.safetykitUpload);
    expect(named(spans, SPAN.safetykitUpload)).toHaveLength(1);
    expect(upload.attributes).toMatchObject({ [ATTR.part]: 0, [ATTR.records]: 50 });
    const children = childrenOf(spans, upload);
    expect(children.map((span) => [span.name, span.attributes[ATTR.attempt], span.attributes[ATTR.httpStatus]])).toEqual([
      ['POST /v1/data/{namespace}/import', 1, 200],
      ['PUT {upload_url}', 1, 503],
      ['PUT {upload_url}', 2, undefined],
      ['PUT {upload_url}', 3, 200],
    ]);
    const [, , reset, put] = children;
    // The connection reset mid-body: no status, the error's class, and its message without the URL.
    expect(reset.status.code).toBe(SpanStatusCode.ERROR);
    expect(reset.attributes[ATTR.errorType]).toBe('ConnectionError');
    expect(reset.status.message).toMatch(/^PUT \{url\}: /);
    expect(put.attributes).toMatchObject({ [ATTR.vendor]: 'safetykit', [ATTR.endpoint]: 'PUT {upload_url}', [ATTR.retryReason]: 'connection' });
    expect(put.attributes[ATTR.requestBodySize]).toBe(upload.attributes[ATTR.requestBodySize]);
    // The status polls come after the upload, as spans of their own.
    expect(named(spans, 'GET /v1/data/{namespace}/requests/{requestId}').length).toBeGreaterThan(0);

    const text = exported(spans);
    expect(text).not.toContain(SAFETYKIT_KEY);
    expect(text).not.toContain('signature');
    expect(text).not.toContain('expires=');
    expect(text).not.toContain('_objects');
    expect(text).not.toContain(setup.emulator().url);
  });

  it('a SafetyKit add: one span per batch, its request under it', async () => {
    const telemetry = setup.register();
    const writer = dataWriter({ baseUrl: setup.emulator().url, apiKey: SAFETYKIT_KEY, namespace: 'telemetry-add', batchSize: 10, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
    await pipeline(Readable.from(Array.from({ length: 25 }, (_, i) => ({ id: `a-${i}` }))), writer);
    const spans = telemetry.spans();
    const batches = named(spans, SPAN.safetykitAddBatch);
    expect(batches.map((batch) => batch.attributes[ATTR.records]).sort()).toEqual([10, 10, 5]);
    for (const batch of batches) {
      expect(childrenOf(spans, batch).map((span) => [span.name, span.attributes[ATTR.httpStatus]])).toEqual([['POST /v1/data/{namespace}', 200]]);
    }
    expect(exported(spans)).not.toContain(SAFETYKIT_KEY);
  });
});

function hrMs([seconds, nanos]: [number, number]): number {
  return seconds * 1000 + nanos / 1e6;
}
