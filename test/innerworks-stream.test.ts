// inferenceResults() against the emulator over loopback: pagination, ties, appends, faults,
// backpressure, abort, bad input and typed errors.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, AuthenticationError, ConfigError, InvalidRequestError, ProtocolError } from '../src/core/errors.js';
import { FAULT_KINDS, startEmulator, type Emulator, type EmulatorOptions } from '../src/emulator/index.js';
import { inferenceResults, type InferenceResult, type InferenceResultsOptions } from '../src/innerworks/index.js';

const KEY = 'emulator-innerworks-key';
let emulator: Emulator | undefined;
let fake: Server | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  await new Promise((resolve) => (fake ? fake.close(resolve) : resolve(undefined)));
  fake = undefined;
});

async function start(options: EmulatorOptions): Promise<Emulator> {
  emulator = await startEmulator(options);
  return emulator;
}

function opts(extra: InferenceResultsOptions = {}): InferenceResultsOptions {
  return { apiKey: KEY, baseUrl: emulator!.url, retry: { baseDelayMs: 1, maxDelayMs: 20 }, ...extra };
}

function expected(from: number, to: number): InferenceResult[] {
  return Array.from({ length: to - from }, (_, i) => JSON.parse(emulator!.innerworks.recordJson(from + i)) as InferenceResult);
}

async function collect(stream: AsyncIterable<InferenceResult>): Promise<InferenceResult[]> {
  const out: InferenceResult[] = [];
  for await (const record of stream) out.push(record);
  return out;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('inferenceResults', () => {
  it('reads 0, 1, exactly batchSize and many pages', async () => {
    for (const [records, batchSize, requests] of [
      [0, 10, 1],
      [1, 10, 2],
      [10, 10, 2],
      [95, 10, 11],
    ] as const) {
      await start({ records });
      const stream = inferenceResults(opts({ batchSize }));
      const checkpoints: Array<[string, number]> = [];
      stream.on('checkpoint', (checkpoint: string, soFar: number) => checkpoints.push([checkpoint, soFar]));
      expect(await collect(stream)).toEqual(expected(0, records));
      expect(stream.stats).toMatchObject({ records, pages: Math.ceil(records / batchSize), requests, retries: 0 });
      expect(emulator!.stats()['innerworks.batch'].requests).toBe(requests);
      // With no data, the empty page still tells the position to resume from (the start).
      const pagesSeen = records === 0 ? [0] : Array.from({ length: Math.ceil(records / batchSize) }, (_, i) => Math.min(records, (i + 1) * batchSize));
      expect(checkpoints.map(([, n]) => n)).toEqual(pagesSeen);
      if (records > 0) expect(stream.checkpoint).toBe(checkpoints[checkpoints.length - 1][0]);
      await emulator!.close();
      emulator = undefined;
    }
  });

  it('crosses ties on page boundaries, with checkpoints carrying + / = URL-encoded', async () => {
    await start({ records: 200 });
    const seen = new Set<string>();
    for (const batchSize of [1, 2, 4, 7]) {
      const stream = inferenceResults(opts({ batchSize }));
      stream.on('checkpoint', (checkpoint: string) => seen.add(checkpoint));
      expect(await collect(stream)).toEqual(expected(0, 200));
    }
    expect([...seen].some((checkpoint) => /[+/=]/.test(checkpoint))).toBe(true);
  });

  it('stays exact while requests run ahead of parsing (latency, prefetch 3)', async () => {
    await start({ records: 3000, latencyMs: 5 });
    for (const prefetch of [1, 3]) {
      const stream = inferenceResults(opts({ batchSize: 60, prefetch }));
      const out: InferenceResult[] = [];
      for await (const record of stream) {
        out.push(record);
        if (out.length % 500 === 0) await delay(15);
      }
      expect(out).toEqual(expected(0, 3000));
    }
  });

  it('follows pages whose checkpoint is not the last key (no read-ahead, same result)', async () => {
    const pages = [
      '{"checkpoint":"Y3Aw","batchSize":2,"results":[{"requestId":"a","projectId":"p","timestamp":"2024-01-01T00:00:00.000Z","result":{},"extra":1}]}',
      '{"checkpoint":"Y3Ax","results":[{"requestId":"b","projectId":"p","timestamp":"2024-01-01T00:00:01.000Z","result":{"checkpoint":"x"}}],"batchSize":2}',
      '{"batchSize":2,"results":[],"checkpoint":"Y3Ax"}',
    ];
    const seen: string[] = [];
    fake = createServer((req, res) => {
      seen.push(new URL(req.url ?? '/', 'http://x').searchParams.get('checkpoint') ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end(pages[seen.length - 1]);
    });
    await new Promise<void>((resolve) => fake!.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    const out = await collect(inferenceResults({ apiKey: KEY, baseUrl, retry: false, batchSize: 2 }));
    expect(out.map((r) => r.requestId)).toEqual(['a', 'b']);
    expect(out[0].extra).toBe(1);
    expect(seen).toEqual(['', 'Y3Aw', 'Y3Ax']);
  });

  it('resumes from stream.checkpoint with exactly the rest', async () => {
    await start({ records: 57 });
    const stream = inferenceResults(opts({ batchSize: 10 }));
    const first: InferenceResult[] = [];
    for await (const record of stream) {
      first.push(record);
      if (first.length === 25) break;
    }
    // The checkpoint covers the pages read in full (20 records); the rest starts at record 20.
    const rest = await collect(inferenceResults(opts({ batchSize: 10, checkpoint: stream.checkpoint })));
    expect(rest).toEqual(expected(20, 57));
  });

  it('starts at startTime and stops before endTime', async () => {
    await start({ records: 60 });
    const from = emulator!.innerworks.timestampOf(9);
    const to = emulator!.innerworks.timestampOf(42);
    expect(await collect(inferenceResults(opts({ batchSize: 7, startTime: from, endTime: to })))).toEqual(expected(9, 42));
    expect(await collect(inferenceResults(opts({ batchSize: 7, startTime: new Date(from) })))).toEqual(expected(9, 60));
  });

  it('merges time partitions in chronological order', async () => {
    await start({ records: 300 });
    const startTime = emulator!.innerworks.timestampOf(0);
    const endTime = emulator!.innerworks.timestampOf(240);
    const stream = inferenceResults(opts({ batchSize: 16, startTime, endTime, partitions: 4 }));
    expect(await collect(stream)).toEqual(expected(0, 240));
    expect(stream.stats.records).toBe(240);
  });

  it('returns records appended while reading, none skipped or repeated', async () => {
    await start({ records: 30 });
    const out: InferenceResult[] = [];
    for await (const record of inferenceResults(opts({ batchSize: 10, prefetch: 0 }))) {
      out.push(record);
      if (out.length === 15) emulator!.innerworks.append(20);
    }
    expect(out).toEqual(expected(0, 50));
  });

  it('follows new records after the end until aborted', async () => {
    await start({ records: 5 });
    const controller = new AbortController();
    const stream = inferenceResults(opts({ batchSize: 10, follow: true, pollIntervalMs: 20, signal: controller.signal }));
    const out: InferenceResult[] = [];
    await expect(
      (async () => {
        for await (const record of stream) {
          out.push(record);
          if (out.length === 5) setTimeout(() => emulator!.innerworks.append(3), 50);
          if (out.length === 8) controller.abort();
        }
      })(),
    ).rejects.toBeInstanceOf(AbortError);
    expect(out).toEqual(expected(0, 8));
  });

  it('gives output identical to a clean run under 20 % faults of every kind', async () => {
    await start({ records: 1000 });
    const clean = await collect(inferenceResults(opts({ batchSize: 50 })));
    emulator!.setFaults({ rate: 0.2, kinds: [...FAULT_KINDS], seed: 11, retryAfterMs: 10, slowMs: 1500 });
    const stream = inferenceResults(opts({ batchSize: 50, timeoutMs: 1000, retry: { maxRetries: 10, baseDelayMs: 1, maxDelayMs: 20 } }));
    const faulty = await collect(stream);
    expect(faulty).toEqual(clean);
    expect(stream.stats.retries).toBeGreaterThan(0);
    expect(emulator!.stats()['innerworks.batch'].faults).toBe(stream.stats.retries);
    // And each kind at least once, in a row, on the first requests.
    emulator!.setFaults({ retryAfterMs: 10, slowMs: 1500 });
    for (const kind of FAULT_KINDS) emulator!.injectFault(kind, { route: 'innerworks.batch' });
    const scripted = inferenceResults(opts({ batchSize: 50, timeoutMs: 1000, retry: { maxRetries: 10, baseDelayMs: 1, maxDelayMs: 20 } }));
    expect(await collect(scripted)).toEqual(clean);
    expect(scripted.stats.retries).toBe(FAULT_KINDS.length);
  });

  it('fetches at most prefetch pages ahead of a slow consumer', async () => {
    await start({ records: 500 });
    for (const prefetch of [0, 1, 3]) {
      emulator!.resetStats();
      const stream = inferenceResults(opts({ batchSize: 10, prefetch }));
      let read = 0;
      for await (const _record of stream) {
        read++;
        if (read % 5 === 0) await delay(2);
        if (read === 25) break;
      }
      await delay(100);
      // 25 records touch 3 pages; the emulator saw those plus at most `prefetch` more.
      const requests = emulator!.stats()['innerworks.batch'].requests;
      expect(requests).toBeGreaterThanOrEqual(3);
      expect(requests).toBeLessThanOrEqual(3 + prefetch);
    }
  });

  it('stops at once on abort or destroy, closing the request in flight', async () => {
    await start({ records: 100, latencyMs: 5000 });
    const controller = new AbortController();
    const stream = inferenceResults(opts({ signal: controller.signal }));
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    await expect(collect(stream)).rejects.toBeInstanceOf(AbortError);
    expect(Date.now() - started).toBeLessThan(2500);
    const destroyed = inferenceResults(opts());
    destroyed.resume();
    await delay(50);
    destroyed.destroy();
    await delay(100);
    expect(emulator!.stats()['innerworks.batch'].concurrent).toBe(0);
  });

  it('refuses bad options with ConfigError before any request', async () => {
    await start({ records: 10 });
    const cases: Array<[InferenceResultsOptions, string]> = [
      [{ batchSize: 0 }, 'batchSize'],
      [{ batchSize: 5001 }, 'batchSize'],
      [{ batchSize: 1.5 }, 'batchSize'],
      [{ startTime: Date.now() + 60_000 }, 'startTime'],
      [{ startTime: new Date('nope') }, 'startTime'],
      [{ checkpoint: 'not a checkpoint!' }, 'checkpoint'],
      [{ prefetch: -1 }, 'prefetch'],
      [{ partitions: 2 }, 'partitions'],
      [{ startTime: 1000, endTime: 500 }, 'endTime'],
      [{ apiKey: '' }, 'apiKey'],
      [{ baseUrl: 'ftp://example.com' }, 'baseUrl'],
    ];
    for (const [bad, option] of cases) {
      let error: unknown;
      try {
        inferenceResults(opts(bad));
      } catch (caught) {
        error = caught;
      }
      expect(error, option).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(option);
    }
    expect(emulator!.stats()['innerworks.batch']?.requests ?? 0).toBe(0);
  });

  it('turns a server 400 into InvalidRequestError with its cause', async () => {
    await start({ records: 10 });
    // Well-formed base64, but not a position the server issued.
    const checkpoint = Buffer.from('{"version":9}').toString('base64');
    const error = await collect(inferenceResults(opts({ checkpoint }))).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).serverCause).toBe('checkpoint');
    expect((error as InvalidRequestError).status).toBe(400);
    expect((error as Error).message).toContain('invalid checkpoint string');
  });

  it('turns a 401 into AuthenticationError naming INNERWORKS_API_KEY, never the key', async () => {
    await start({ innerworks: { records: 10, apiKeys: ['the-right-key-123'] } });
    const secret = 'wrong-secret-key-987654';
    const error = await collect(inferenceResults(opts({ apiKey: secret }))).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthenticationError);
    const text = `${(error as Error).message}\n${(error as Error).stack}\n${inspect(error)}`;
    expect(text).toContain('INNERWORKS_API_KEY');
    expect(text).not.toContain(secret);
    expect((error as AuthenticationError).retries).toBe(0);
    const stream = inferenceResults(opts({ apiKey: secret }));
    expect(inspect(stream, { depth: 20 })).not.toContain(secret);
    stream.destroy();
  });

  it('fails with ProtocolError on a page without results, or without a checkpoint', async () => {
    const bodies = ['{"batchSize":10}', '{"batchSize":10,"results":[{"requestId":"a","projectId":"p","timestamp":"2024-01-01T00:00:00.000Z","result":{}}]}', 'not json'];
    let next = 0;
    fake = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(bodies[next++]));
    await new Promise<void>((resolve) => fake!.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    for (const message of ['no "results" array', 'without a "checkpoint"', 'not JSON']) {
      const error = await collect(inferenceResults({ apiKey: KEY, baseUrl, retry: false })).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as Error).message).toContain(message);
    }
  });
});
