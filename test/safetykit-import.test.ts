import { existsSync, readdirSync, rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ImportFailedError, JsonlError, ServerError } from '../src/core/errors.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { importResults, importWriter, type ImportEvent, type OutputObject } from '../src/safetykit/index.js';
import { tempDir } from './helpers/temp-dir.js';

let emulator: Emulator;
const spoolDir = tempDir('sk-import-test-');
const KEY = 'sk-test-import-0123456789';
const conn = () => ({
  baseUrl: emulator.url,
  apiKey: KEY,
  namespace: 'imports',
  spoolDir: spoolDir(),
  retry: { baseDelayMs: 1, maxDelayMs: 20 },
  pollIntervalMs: 5,
  maxPollIntervalMs: 20,
});

beforeAll(async () => {
  emulator = await startEmulator({ faults: { retryAfterMs: 10 }, safetykit: { queuedMs: 5, ingestingMs: 10 } });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => emulator.resetStats());

/** JSONL text of `count` objects, in Buffers of about 64 KiB cut anywhere (mid-line, mid-character). */
function* jsonlChunks(count: number, pad = 0): Generator<Buffer> {
  let text = '';
  for (let i = 0; i < count; i++) {
    text += `${JSON.stringify({ id: `item-${i}`, title: `Article ${i} — ünïcødé`, body: 'lorem ipsum '.repeat(pad) })}\n`;
    if (text.length > 65_000) {
      const buffer = Buffer.from(text);
      yield buffer.subarray(0, 1001);
      yield buffer.subarray(1001);
      text = '';
    }
  }
  if (text) yield Buffer.from(text);
}

describe('importWriter', () => {
  it('imports 20+ MB of JSONL Buffers through the pre-signed upload, then streams the results from data_url', async () => {
    const writer = importWriter(conn());
    const events: ImportEvent[] = [];
    writer.on('import', (event) => events.push(event));
    await pipeline(Readable.from(jsonlChunks(60_000, 25)), writer);
    const summary = writer.summary!;
    expect(summary.objects).toBe(60_000);
    expect(summary.bytes).toBeGreaterThan(20_000_000);
    expect(summary.requestIds).toHaveLength(1);
    expect(summary.statuses).toEqual({ succeeded: 1 });
    expect(events.map((e) => e.stage)).toEqual(['requested', 'uploaded', 'succeeded']);
    expect(emulator.safetykit.request(summary.requestIds[0])).toEqual({ state: 'succeeded', kind: 'import', objects: 60_000 });

    const [upload] = emulator.safetykit.uploads();
    expect(upload).toMatchObject({ status: 200, hadAuthorization: false, contentType: 'application/json', contentLength: String(summary.bytes), bytes: summary.bytes });
    // The spool is removed on success.
    expect(readdirSync(spoolDir())).toEqual([]);

    const results = importResults({ ...conn(), requestId: summary.requestIds[0] });
    let count = 0;
    let last: OutputObject | undefined;
    for await (const output of results) {
      if (count === 0) expect(output.id).toBe('item-0');
      count++;
      last = output as OutputObject;
    }
    expect(count).toBe(60_000);
    expect(last?.id).toBe('item-59999');
    expect(results.stats.bytes).toBeGreaterThan(1_000_000);
  });

  it('splits the input into several imports with partBytes', async () => {
    const writer = importWriter({ ...conn(), partBytes: 40_000 });
    const lines = Array.from({ length: 1000 }, (_, i) => ({ id: `p-${i}`, text: 'abc'.repeat(20) }));
    await pipeline(Readable.from(lines), writer);
    const summary = writer.summary!;
    expect(summary.requestIds.length).toBeGreaterThanOrEqual(2);
    expect(summary.statuses.succeeded).toBe(summary.requestIds.length);
    const imported = summary.requestIds.map((id) => emulator.safetykit.request(id)!.objects);
    expect(imported.reduce((a, b) => a + b, 0)).toBe(1000);
  });

  it('accepts JSONL strings (CRLF, blank lines) and objects mixed', async () => {
    const writer = importWriter(conn());
    await pipeline(Readable.from(['{"id":"s1"}\r\n\n{"id":', '"s2"}\n', { id: 'o3' }, '{"id":"s4"}']), writer);
    expect(writer.summary?.objects).toBe(4);
    const outputs: OutputObject[] = [];
    for await (const output of importResults({ ...conn(), requestId: writer.summary!.requestIds[0] })) outputs.push(output as OutputObject);
    expect(outputs.map((o) => o.id)).toEqual(['s1', 's2', 'o3', 's4']);
  });

  it('re-sends the file after a 503 and a reset during the PUT', async () => {
    const before = emulator.safetykit.uploads().length;
    emulator.injectFault('503', { route: 'safetykit.upload' });
    emulator.injectFault('reset', { route: 'safetykit.upload' });
    const writer = importWriter(conn());
    await pipeline(Readable.from(jsonlChunks(3000, 5)), writer);
    expect(writer.summary?.statuses).toEqual({ succeeded: 1 });
    expect(writer.summary?.retries).toBeGreaterThanOrEqual(2);
    expect(emulator.stats()['safetykit.upload'].requests).toBe(3);
    expect(emulator.stats()['safetykit.import'].requests).toBe(1);
    const attempts = emulator.safetykit.uploads().slice(before);
    // The 503 answers before the store runs, and the reset cuts the PUT mid-body: the store got the file once, whole.
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ status: 200, hadAuthorization: false, bytes: writer.summary!.bytes });
    expect(emulator.safetykit.request(writer.summary!.requestIds[0])?.objects).toBe(3000);
  });

  it('gives up on the PUT after maxRetries with the URL shown without its signature', async () => {
    emulator.injectFault('500', { route: 'safetykit.upload', count: 3 });
    const writer = importWriter({ ...conn(), retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 } });
    const error = (await pipeline(Readable.from([{ id: 'x' }]), writer).catch((e: unknown) => e)) as ServerError;
    expect(error).toBeInstanceOf(ServerError);
    expect(error.retries).toBe(2);
    expect(error.message).toContain('/_objects/safetykit-uploads/');
    expect(error.message).not.toMatch(/signature=|expires=/);
    expect(readdirSync(spoolDir())).toEqual([]);
  });

  it('replaces an expired upload URL with a new import request', async () => {
    emulator.safetykit.expireNextUploadUrls(1);
    const writer = importWriter(conn());
    const requested: string[] = [];
    writer.on('import', (event: ImportEvent) => event.stage === 'requested' && requested.push(event.requestId));
    await pipeline(Readable.from([{ id: 'e1' }, { id: 'e2' }]), writer);
    expect(requested).toHaveLength(2);
    expect(writer.summary?.requestIds).toEqual([requested[1]]);
    expect(emulator.stats()['safetykit.upload'].statuses).toEqual({ 403: 1, 200: 1 });
  });

  it('fails with ImportFailedError carrying the server reason when the import ends failed', async () => {
    emulator.safetykit.failNextRequest('namespace quota exceeded');
    const writer = importWriter(conn());
    const error = await pipeline(Readable.from([{ id: 'f1' }]), writer).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImportFailedError);
    expect((error as ImportFailedError).reason).toBe('namespace quota exceeded');
    expect((error as Error).message).toMatch(/failed: namespace quota exceeded/);
  });

  it('reports a bad JSONL line with its number and uploads nothing', async () => {
    const uploadsBefore = emulator.safetykit.uploads().length;
    const writer = importWriter(conn());
    const error = await pipeline(Readable.from(['{"id":"ok1"}\n{"id":"ok2"}\n', '{"id": oops}\n{"id":"ok4"}\n']), writer).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JsonlError);
    expect((error as JsonlError).line).toBe(3);
    expect(emulator.stats()['safetykit.import']).toBeUndefined();
    expect(emulator.safetykit.uploads().length).toBe(uploadsBefore);
    expect(readdirSync(spoolDir())).toEqual([]);
  });

  it('reports an object without an id by its line number', async () => {
    const error = await pipeline(Readable.from(['{"id":"a"}\n{"name":"no id"}\n']), importWriter(conn())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JsonlError);
    expect((error as JsonlError).line).toBe(2);
    expect((error as Error).message).toMatch(/id/);
    const objectError = await pipeline(Readable.from([{ id: 'a' }, { id: 7 }]), importWriter(conn())).catch((e: unknown) => e);
    expect((objectError as JsonlError).line).toBe(2);
  });

  it('keeps the spool with keepSpool, and does not wait with wait: false', async () => {
    const writer = importWriter({ ...conn(), keepSpool: true, wait: false });
    await pipeline(Readable.from([{ id: 'k1' }]), writer);
    expect(writer.summary?.statuses).toEqual({ uploaded: 1 });
    expect(writer.spoolPath && existsSync(writer.spoolPath)).toBe(true);
    rmSync(writer.spoolPath!, { recursive: true, force: true });
  });

  it('stops at once when its signal aborts', async () => {
    const controller = new AbortController();
    const writer = importWriter({ ...conn(), signal: controller.signal });
    writer.write({ id: 'a1' });
    controller.abort();
    const error = await new Promise((resolve) => writer.once('error', resolve));
    expect((error as Error).name).toBe('AbortError');
  });
});
