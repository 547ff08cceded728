import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, ConfigError, ImportFailedError, InvalidRequestError } from '../src/core/errors.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { dataWriter, getRequestStatus, importResults, InvalidObjectError, updateSettings, waitForRequest, type DataObject, type OutputObject } from '../src/safetykit/index.js';

let emulator: Emulator;
const KEY = 'sk-test-add-0123456789';
const fast = { retry: { baseDelayMs: 1, maxDelayMs: 20 }, pollIntervalMs: 5, maxPollIntervalMs: 20 } as const;
const conn = () => ({ baseUrl: emulator.url, apiKey: KEY, namespace: 'listings', ...fast });

beforeAll(async () => {
  emulator = await startEmulator({ faults: { retryAfterMs: 10 }, safetykit: { queuedMs: 5, ingestingMs: 10, apiKeys: [KEY], inlineStatusLimitBytes: 20_000 } });
});
afterAll(() => emulator.close());

const objects = (n: number, prefix = 'obj'): DataObject[] => Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, title: `Item ${i}`, price: i }));

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

describe('dataWriter', () => {
  it('adds in batches, reports each request, waits for results, and reads them back', async () => {
    const writer = dataWriter({ ...conn(), batchSize: 10, waitForResults: true });
    const requests: Array<{ requestId: string; count: number }> = [];
    const results: string[] = [];
    writer.on('request', (event) => requests.push(event));
    writer.on('result', (event) => results.push(event.status.status));
    await pipeline(Readable.from(objects(25)), writer);
    expect(writer.summary?.objects).toBe(25);
    expect(requests.map((r) => r.count).sort()).toEqual([10, 10, 5]);
    expect(writer.summary?.requestIds).toHaveLength(3);
    expect(results).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(writer.summary?.statuses).toEqual({ succeeded: 3 });
    expect(writer.stats.batches).toBe(3);

    const outputs = await collect<OutputObject>(importResults({ ...conn(), requestId: requests[0].requestId }));
    expect(outputs).toHaveLength(requests[0].count);
    expect(outputs[0]).toMatchObject({ id: expect.stringMatching(/^obj-/), output: { actions: expect.any(Array), labels: expect.any(Array) } });
    expect(typeof outputs[0].url).toBe('string');
  });

  it('keeps at most `concurrency` adds in flight', async () => {
    emulator.resetStats();
    const writer = dataWriter({ ...conn(), namespace: 'conc', batchSize: 5, concurrency: 2 });
    await pipeline(Readable.from(objects(60)), writer);
    const stats = emulator.stats()['safetykit.add'];
    expect(stats.requests).toBe(12);
    expect(stats.maxConcurrent).toBeLessThanOrEqual(2);
  });

  it('flushes a partial batch after flushIntervalMs while input pauses', async () => {
    const writer = dataWriter({ ...conn(), batchSize: 100, flushIntervalMs: 20 });
    const accepted = new Promise((resolve) => writer.once('request', resolve));
    writer.write({ id: 'lonely' });
    await expect(accepted).resolves.toMatchObject({ count: 1 });
    writer.end();
    await new Promise((resolve) => writer.on('finish', resolve));
    expect(writer.summary?.objects).toBe(1);
  });

  it('fails on an object without an id, naming its index, or skips it with onInvalid: skip', async () => {
    const bad = [{ id: 'a' }, { id: 'b' }, { name: 'no id' }] as unknown as DataObject[];
    const error = await pipeline(Readable.from(bad), dataWriter(conn())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidObjectError);
    expect((error as InvalidObjectError).index).toBe(2);
    expect((error as Error).message).toMatch(/#2/);

    const writer = dataWriter({ ...conn(), onInvalid: 'skip' });
    await pipeline(Readable.from([...bad, { id: '' }]), writer);
    expect(writer.summary).toMatchObject({ objects: 2, skipped: 2 });
  });

  it('splits batches by maxBatchBytes', async () => {
    const writer = dataWriter({ ...conn(), maxBatchBytes: 2048 });
    const big = Array.from({ length: 6 }, (_, i) => ({ id: `big-${i}`, text: 'x'.repeat(900) }));
    await pipeline(Readable.from(big), writer);
    expect(writer.summary?.requestIds.length).toBe(3);
  });

  it('retries a 503 and a reset, then succeeds', async () => {
    emulator.injectFault('503', { route: 'safetykit.add' });
    emulator.injectFault('reset', { route: 'safetykit.add' });
    const writer = dataWriter({ ...conn(), batchSize: 1000 });
    await pipeline(Readable.from(objects(30)), writer);
    expect(writer.summary?.objects).toBe(30);
    expect(writer.summary?.retries).toBe(2);
  });

  it('fails with ImportFailedError when a request ends failed', async () => {
    emulator.safetykit.failNextRequest('objects rejected by policy');
    const writer = dataWriter({ ...conn(), waitForResults: true });
    const error = await pipeline(Readable.from(objects(3)), writer).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImportFailedError);
    expect((error as ImportFailedError).reason).toBe('objects rejected by policy');
  });

  it('validates options before any request', () => {
    expect(() => dataWriter({ ...conn(), batchSize: 1001 })).toThrow(ConfigError);
    expect(() => dataWriter({ ...conn(), namespace: 'a/b' })).toThrow(/namespace/);
    expect(() => dataWriter({ ...conn(), namespace: '' })).toThrow(ConfigError);
    expect(() => dataWriter({ ...conn(), maxBatchBytes: 6 * 1024 * 1024 })).toThrow(/maxBatchBytes/);
    expect(() => dataWriter({ ...conn(), onInvalid: 'drop' as 'skip' })).toThrow(/onInvalid/);
    expect(() => dataWriter({ namespace: 'x', baseUrl: emulator.url, apiKey: undefined })).toThrow(/apiKey/);
  });

  it('reports a wrong API key as AuthenticationError without the key', async () => {
    const wrong = 'sk-wrong-key-987654321';
    const error = await pipeline(Readable.from(objects(1)), dataWriter({ ...conn(), apiKey: wrong })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toMatch(/SAFETYKIT_API_KEY/);
    expect((error as Error).message).not.toContain(wrong);
  });
});

describe('requests, results, settings', () => {
  it('getRequestStatus and waitForRequest follow the state machine', async () => {
    const writer = dataWriter(conn());
    await pipeline(Readable.from(objects(2, 'sm')), writer);
    const requestId = writer.summary!.requestIds[0];
    const first = await getRequestStatus({ ...conn(), requestId });
    expect(['queued', 'ingesting', 'succeeded']).toContain(first.status);
    const seen: string[] = [];
    const final = await waitForRequest({ ...conn(), requestId, onPoll: (s) => seen.push(s.status) });
    expect(final.status).toBe('succeeded');
    expect(final.data?.map((d) => d.id)).toEqual(['sm-0', 'sm-1']);
    expect(seen.at(-1)).toBe('succeeded');
  });

  it('falls back to results/download-url when the inline status is too large (413)', async () => {
    const writer = dataWriter(conn());
    await pipeline(Readable.from(objects(200, 'large')), writer);
    const requestId = writer.summary!.requestIds[0];
    const final = await waitForRequest({ ...conn(), requestId });
    expect(final.tooLargeInline).toBe(true);
    expect(final.dataUrl).toBeTruthy();
    const outputs = await collect<OutputObject>(importResults({ ...conn(), requestId }));
    expect(outputs.map((o) => o.id)).toEqual(objects(200, 'large').map((o) => o.id));
  });

  it('updateSettings stores a schema; a bad one is refused', async () => {
    const answer = await updateSettings({ ...conn(), schema: { title: { content_type: 'text', display_hint: 'title', field_limit: 200 } } });
    expect(answer).toEqual({ namespace: 'listings', status: 'updated' });
    expect(emulator.safetykit.settings('listings')).toEqual({ title: { content_type: 'text', display_hint: 'title', field_limit: 200 } });
    await expect(updateSettings({ ...conn(), schema: { title: { colour: 'red' } as never } })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(updateSettings({ ...conn(), schema: { title: { field_limit: 0 } } })).rejects.toBeInstanceOf(ConfigError);
    const before = emulator.stats()['safetykit.settings']?.requests ?? 0;
    await expect(updateSettings({ ...conn(), schema: { title: { content_type: 5 as unknown as string } } })).rejects.toThrow(/schema\.title\.content_type/);
    expect(emulator.stats()['safetykit.settings']?.requests ?? 0).toBe(before);
  });

  it('an unknown request is NotFound', async () => {
    await expect(getRequestStatus({ ...conn(), requestId: 'req_nope/../x' })).rejects.toMatchObject({ status: 404 });
  });
});
