/**
 * Metrics through the OpenTelemetry API, read from a registered MeterProvider after real runs
 * against the emulator: requests by vendor/endpoint/status, retries by reason, in-flight back to
 * zero, the duration histogram, bytes uploaded, predict batch sizes and concurrency level.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { exportInferenceResults } from '../src/innerworks/index.js';
import { predictDocuments } from '../src/reinfer/index.js';
import { importWriter } from '../src/safetykit/index.js';
import { ATTR, METRIC } from '../src/core/telemetry.js';
import { telemetryTests, type TestTelemetry } from './helpers/otel.js';
import { tempDir } from './helpers/temp-dir.js';
import { conn, docs, run } from './reinfer-helpers.js';

const BATCH = 'GET /api/v1/innerworks/inference/batch';
const PREDICT = 'POST /api/v1/datasets/{project}/{dataset}/labellers/{version}/predict';

const setup = telemetryTests();
const dir = tempDir('telemetry-metrics-');

/** The points of a metric as `[attributes, value]`, for one endpoint. */
function byEndpoint(t: TestTelemetry, metric: string, endpoint: string) {
  return t.points(metric).filter((point) => point.attributes[ATTR.endpoint] === endpoint);
}

describe('metrics', () => {
  it('an export with a 503: requests by status, one retry by reason, in-flight back to 0, one duration per attempt', async () => {
    const telemetry = setup.register();
    setup.emulator().injectFault('503', { route: 'innerworks.batch' });
    await exportInferenceResults({ file: join(dir(), 'export.jsonl'), apiKey: 'emulator-innerworks-key', baseUrl: setup.emulator().url, batchSize: 10, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
    await telemetry.collect();

    const requests = byEndpoint(telemetry, METRIC.requests, BATCH);
    const byStatus = Object.fromEntries(requests.map((point) => [point.attributes[ATTR.httpStatus], point.value]));
    expect(byStatus).toEqual({ 200: 4, 503: 1 });
    for (const point of requests) expect(point.attributes[ATTR.vendor]).toBe('innerworks');

    const retries = byEndpoint(telemetry, METRIC.retries, BATCH);
    expect(retries.map((point) => [point.attributes[ATTR.retryReason], point.value])).toEqual([['503', 1]]);

    expect(byEndpoint(telemetry, METRIC.requestsInFlight, BATCH).map((point) => point.value)).toEqual([0]);
    const durations = byEndpoint(telemetry, METRIC.requestDuration, BATCH);
    expect(durations.reduce((sum, point) => sum + (point.value as Histogram).count, 0)).toBe(5);
    for (const point of durations) expect((point.value as Histogram).sum).toBeGreaterThan(0);
    // Buckets in seconds (the SDK's default ones are for milliseconds: every request would fall in the first).
    expect((durations[0].value as Histogram).buckets.boundaries.slice(0, 6)).toEqual([0.005, 0.01, 0.025, 0.05, 0.075, 0.1]);
    // A GET uploads nothing.
    expect(byEndpoint(telemetry, METRIC.bytesUploaded, BATCH)).toEqual([]);
  });

  it('a predict: documents per request, the concurrency level, and the bytes of its bodies', async () => {
    const telemetry = setup.register();
    setup.emulator().resetStats();
    await run(predictDocuments({ ...conn(setup.emulator()), batchSize: 16, concurrency: 3 }), docs(40));
    await telemetry.collect();

    const [sizes] = telemetry.points(METRIC.predictBatchSize);
    const histogram = sizes.value as Histogram;
    expect(histogram.count).toBe(3);
    expect(histogram.sum).toBe(40);
    expect(telemetry.points(METRIC.predictConcurrency).map((point) => point.value)).toEqual([3]);
    const [uploaded] = byEndpoint(telemetry, METRIC.bytesUploaded, PREDICT);
    expect(uploaded.value).toBe(setup.emulator().stats()['reinfer.predict'].bytesIn);
    expect(uploaded.attributes[ATTR.vendor]).toBe('reinfer');
  });

  it("concurrency: 'auto' records each level it moves to", async () => {
    const telemetry = setup.register();
    setup.emulator().reinfer.configure({ latencyMs: 0, perDocumentMs: 0, jitterMs: 0, maxConcurrent: Infinity, retryAfterMs: 5 });
    const stream = predictDocuments({ ...conn(setup.emulator()), batchSize: 4, concurrency: 'auto', maxConcurrency: 8 });
    await run(stream, docs(400));
    await telemetry.collect();
    // A gauge keeps the last value: the level the stream ended at.
    expect(telemetry.points(METRIC.predictConcurrency).map((point) => point.value)).toEqual([stream.stats.concurrency]);
  });

  it('an import: the PUT counts the bytes of its part', async () => {
    const telemetry = setup.register();
    setup.emulator().resetStats();
    const writer = importWriter({ baseUrl: setup.emulator().url, apiKey: 'sk-test-telemetry-0123456789', namespace: 'metrics', spoolDir: dir(), retry: { baseDelayMs: 1, maxDelayMs: 5 }, wait: false });
    await pipeline(Readable.from(Array.from({ length: 20 }, (_, i) => ({ id: `m-${i}` }))), writer);
    await telemetry.collect();
    const [put] = byEndpoint(telemetry, METRIC.bytesUploaded, 'PUT {upload_url}');
    expect(put.value).toBe(setup.emulator().stats()['safetykit.upload'].bytesIn);
    expect(put.value).toBeGreaterThan(0);
  });
});
