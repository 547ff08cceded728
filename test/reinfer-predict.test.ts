/** predictDocuments / predictRawEmails / predictComments against the emulator over loopback. */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { AbortError, ConfigError } from '../src/core/errors.js';
import { InvalidDocumentError, predictComments, predictDocuments, predictRawEmails, type Prediction, type PredictionResult } from '../src/reinfer/index.js';
import { conn, doc, docs, run } from './reinfer-helpers.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0, faults: { retryAfterMs: 5 } });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.resetStats();
  emulator.setFaults({ retryAfterMs: 5 });
  emulator.reinfer.configure({ latencyMs: 0, perDocumentMs: 0, jitterMs: 0, maxConcurrent: Infinity, retryAfterMs: 5 });
});

const predictStats = () => emulator.stats()['reinfer.predict'];

describe('predictDocuments', () => {
  it('handles 0, 1, 4096 and 4097 documents: one output per input, in order, with the input beside the predictions', async () => {
    expect(await run(predictDocuments({ ...conn(emulator) }), [])).toEqual([]);
    expect(predictStats()).toBeUndefined();

    const [one] = await run<Prediction<ReturnType<typeof doc>>>(predictDocuments({ ...conn(emulator) }), [doc(0)]);
    expect(one.input).toEqual(doc(0));
    expect(one.model).toEqual({ version: 5, time: expect.any(String) });
    const missing = one.labels.find((l) => l.fullName === 'Order > Missing')!;
    expect(missing.name).toEqual(['Order', 'Missing']);
    expect(missing.probability).toBeGreaterThan(0.5);
    expect(one.entities[0]).toMatchObject({ kind: 'order_number', formattedValue: 'ORD-100000', spans: [{ contentPart: 'body', charStart: 6, charEnd: 16 }] });
    expect(one.labelProperties.map((p) => p.name)).toEqual(['tone', 'quality_of_service']);
    expect(typeof one.sentiment).toBe('number');

    for (const n of [4096, 4097]) {
      emulator.resetStats();
      const stream = predictDocuments({ ...conn(emulator), batchSize: 4096, concurrency: 2 });
      const out = await run<Prediction<ReturnType<typeof doc>>>(stream, docs(n));
      expect(out.map((o) => o.input.id)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(predictStats().requests).toBe(n === 4096 ? 1 : 2);
      expect(stream.stats).toMatchObject({ documents: n, predicted: n, failed: 0, batches: n === 4096 ? 1 : 2, requests: n === 4096 ? 1 : 2 });
    }
  });

  it('keeps input order under random per-batch latency; ordered:false emits as batches finish', async () => {
    emulator.reinfer.configure({ latencyMs: 5, jitterMs: 60 });
    const inputs = docs(300);
    const ordered = await run<Prediction<ReturnType<typeof doc>>>(predictDocuments({ ...conn(emulator), batchSize: 10, concurrency: 6 }), inputs);
    expect(ordered.map((o) => o.input.id)).toEqual(inputs.map((d) => d.id));
    const unordered = await run<Prediction<ReturnType<typeof doc>>>(predictDocuments({ ...conn(emulator), batchSize: 10, concurrency: 6, ordered: false }), inputs);
    const ids = unordered.map((o) => o.input.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(inputs.map((d) => d.id));
    expect(ids).not.toEqual(inputs.map((d) => d.id));
  });

  it('with a slow consumer: never more than `concurrency` requests at the server, and input is read only as far as the bounds allow', async () => {
    emulator.reinfer.configure({ latencyMs: 10 });
    let pulled = 0;
    const total = 20_000;
    const source = new Readable({
      objectMode: true,
      read() {
        this.push(pulled < total ? doc(pulled++) : null);
      },
    });
    const stream = predictDocuments({ ...conn(emulator), batchSize: 50, concurrency: 3 });
    let received = 0;
    let maxPulledWhilePaused = 0;
    const consumer = new Writable({
      objectMode: true,
      highWaterMark: 1,
      write(_chunk, _encoding, callback) {
        received++;
        // Stall once, for a while, after the first outputs: the stream must stop reading input.
        if (received === 10) {
          setTimeout(() => {
            maxPulledWhilePaused = pulled;
            callback();
          }, 400);
        } else callback();
      },
    });
    await pipeline(source, stream, consumer);
    expect(received).toBe(total);
    // In flight (3 batches) + the readable buffer (batchSize outputs) + one partial batch + stream buffers.
    expect(maxPulledWhilePaused).toBeLessThan(3 * 50 + 50 + 50 + 2 * 16 + 200);
    expect(predictStats().maxConcurrent).toBeLessThanOrEqual(3);
  });

  it('retries through a 429 storm (Retry-After honoured) and counts the retries', async () => {
    emulator.setFaults({ rate: 0.5, kinds: ['429', '503'], seed: 3, routes: ['reinfer'], retryAfterMs: 5 });
    const stream = predictDocuments({ ...conn(emulator), batchSize: 20, concurrency: 4, retry: { maxRetries: 30, baseDelayMs: 1, maxDelayMs: 10 } });
    const out = await run<Prediction<ReturnType<typeof doc>>>(stream, docs(400));
    expect(out.map((o) => o.input.id)).toEqual(Array.from({ length: 400 }, (_, i) => i));
    expect(stream.stats.retries).toBeGreaterThan(0);
    expect(stream.stats.requests).toBe(stream.stats.batches + stream.stats.retries);
    expect(predictStats().faults).toBe(stream.stats.retries);
  });

  it('bisects a refused batch: one bad document among 4096 costs at most 2·log2(4096) = 24 extra requests', async () => {
    const inputs: unknown[] = docs(4096);
    const bad = 2741;
    inputs[bad] = { ...doc(bad), timestamp: 'not a date' }; // only the server checks timestamp formats
    const stream = predictDocuments({ ...conn(emulator), batchSize: 4096, onError: 'emit' });
    const out = await run<PredictionResult<unknown>>(stream, inputs);
    expect(out).toHaveLength(4096);
    const failures = out.filter((o) => 'error' in o);
    expect(failures).toHaveLength(1);
    const failure = failures[0] as { index: number; error: InvalidDocumentError; input: unknown };
    expect(failure.index).toBe(bad);
    expect(out[bad]).toBe(failure);
    expect(failure.input).toBe(inputs[bad]);
    expect(failure.error).toBeInstanceOf(InvalidDocumentError);
    expect(failure.error.message).toMatch(/input 2741.*timestamp/);
    expect(predictStats().requests - 1).toBeLessThanOrEqual(24);
    expect(stream.stats).toMatchObject({ splits: 12, failed: 1, predicted: 4095 });
  });

  it("without onError:'emit', a refused document fails the stream with an error naming its input index", async () => {
    const inputs: unknown[] = docs(100);
    inputs[7] = { ...doc(7), user_properties: { City: 'London' } };
    const err = await run(predictDocuments({ ...conn(emulator), batchSize: 100 }), inputs).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidDocumentError);
    expect((err as InvalidDocumentError).indexes).toEqual([7]);
    expect(predictStats()).toBeUndefined(); // caught before sending
    inputs[7] = doc(7);
    inputs[42] = { ...doc(42), timestamp: 'soon' };
    inputs[43] = { ...doc(43), timestamp: 'later' };
    const serverErr = (await run(predictDocuments({ ...conn(emulator), batchSize: 100 }), inputs).catch((e: unknown) => e)) as InvalidDocumentError;
    expect(serverErr).toBeInstanceOf(InvalidDocumentError);
    expect(serverErr.indexes).toEqual([42, 43]);
    expect(serverErr.message).toMatch(/inputs 42, 43/);
  });

  it("checks documents before sending: with onError:'emit' bad ones come out in place, unsent", async () => {
    const inputs: unknown[] = [doc(0), { id: 'no messages' }, doc(2), { messages: [{ body: { text: 'x'.repeat(65_537) } }] }, 'not an object', doc(5)];
    const out = await run<PredictionResult<unknown>>(predictDocuments({ ...conn(emulator), onError: 'emit' }), inputs);
    expect(out.map((o) => ('error' in o ? `bad ${o.index}` : 'ok'))).toEqual(['ok', 'bad 1', 'ok', 'bad 3', 'bad 4', 'ok']);
    expect((out[1] as { error: Error }).error.message).toMatch(/input 1: messages is required/);
    expect((out[3] as { error: Error }).error.message).toMatch(/messages\[0\]\.body\.text: must be at most 65536 characters \(got 65537\)/);
    expect(emulator.reinfer.requests().at(-1)!.count).toBe(3);
  });

  it('sends a partial batch once input pauses for flushIntervalMs', async () => {
    const stream = predictDocuments({ ...conn(emulator), batchSize: 100, flushIntervalMs: 30 });
    const got: unknown[] = [];
    stream.on('data', (o) => got.push(o));
    stream.write(doc(0));
    stream.write(doc(1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(got).toHaveLength(2);
    stream.end(doc(2));
    await new Promise((resolve) => stream.on('end', resolve));
    expect(got).toHaveLength(3);
    expect(predictStats().requests).toBe(2);
  });

  it("concurrency:'auto' adapts between 1 and maxConcurrency, halving on 429, and reports the level in stats", async () => {
    emulator.reinfer.configure({ latencyMs: 20, maxConcurrent: 4, retryAfterMs: 5 });
    const stream = predictDocuments({ ...conn(emulator), batchSize: 10, concurrency: 'auto', maxConcurrency: 8, retry: { maxRetries: 50, baseDelayMs: 1, maxDelayMs: 10 } });
    const levels = new Set<number>();
    stream.on('progress', (stats: { concurrency: number }) => levels.add(stats.concurrency));
    const out = await run(stream, docs(1500));
    expect(out).toHaveLength(1500);
    expect(Math.max(...levels)).toBeGreaterThan(2);
    expect(Math.max(...levels)).toBeLessThanOrEqual(8);
    expect(Math.min(...levels)).toBeGreaterThanOrEqual(1);
    expect(predictStats().maxConcurrent).toBeLessThanOrEqual(8);
    expect(stream.stats.concurrency).toBeGreaterThanOrEqual(1);
  });

  it('aborts mid-stream: the pipeline fails with AbortError and no request stays in flight', async () => {
    emulator.reinfer.configure({ latencyMs: 2_000 });
    const controller = new AbortController();
    const stream = predictDocuments({ ...conn(emulator), batchSize: 10, concurrency: 2, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const err = await run(stream, docs(100)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(Date.now() - started).toBeLessThan(1_500);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(emulator.stats()['reinfer.predict'].concurrent).toBe(0);
  });

  it('validates every option before the first request (ConfigError naming the option)', () => {
    const base = conn(emulator);
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ batchSize: 4097 }, 'batchSize'],
      [{ concurrency: 0 }, 'concurrency'],
      [{ concurrency: 'fast' }, 'concurrency'],
      [{ threshold: 1.5 }, 'threshold'],
      [{ version: 'latest' }, 'version'],
      [{ labels: [{ name: [] }] }, 'labels[0].name'],
      [{ labels: [{ name: 'A > B', threshold: -1 }] }, 'labels[0].threshold'],
      [{ onError: 'ignore' }, 'onError'],
      [{ ordered: 'yes' }, 'ordered'],
      [{ project: undefined }, 'project'],
      [{ endpoint: 'ftp://x' }, 'endpoint'],
      [{ timeoutMs: -1 }, 'timeoutMs'],
    ];
    for (const [options, name] of bad) {
      let error: unknown;
      try {
        predictDocuments({ ...base, ...options } as never);
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(name);
    }
    expect(() => predictRawEmails({ ...base } as never)).toThrow(/transformTag/);
    const saved = process.env.REINFER_TOKEN;
    delete process.env.REINFER_TOKEN;
    try {
      expect(() => predictDocuments({ ...base, token: undefined })).toThrow(/REINFER_TOKEN/);
    } finally {
      if (saved !== undefined) process.env.REINFER_TOKEN = saved;
    }
    // `baseUrl` is accepted as well as `endpoint`.
    expect(() => predictDocuments({ ...base, endpoint: undefined, baseUrl: emulator.url }).destroy()).not.toThrow();
  });
});

describe('output shape', () => {
  it('one batch with checked-out, server-refused and good documents: each output in place, with the documented keys in order', async () => {
    const inputs: unknown[] = docs(40);
    inputs[3] = { id: 'no messages' }; // refused by our checks, never sent
    inputs[17] = { ...doc(17), timestamp: 'not a date' }; // refused by the server, isolated by bisection
    inputs[39] = 'not an object';
    const stream = predictDocuments({ ...conn(emulator), batchSize: 40, onError: 'emit' });
    const out = await run<PredictionResult<unknown>>(stream, inputs);
    expect(out.map((o, i) => ('error' in o ? `bad ${o.index}` : o.input === inputs[i] ? 'ok' : 'wrong input'))).toEqual(
      inputs.map((_, i) => ([3, 17, 39].includes(i) ? `bad ${i}` : 'ok')),
    );
    expect(stream.stats).toMatchObject({ documents: 40, predicted: 37, failed: 3, batches: 1 });
    expect((out[17] as { error: Error }).error.message).toMatch(/input 17: refused by the server/);
    expect(Object.keys(out[17])).toEqual(['input', 'index', 'error']);

    const good = out[0] as Prediction<unknown>;
    expect(Object.keys(good)).toEqual(['input', 'labels', 'entities', 'labelProperties', 'sentiment', 'model']);
    expect(Object.keys(good.entities[0])).toEqual(['name', 'kind', 'formattedValue', 'probability', 'spans', 'id', 'captureIds']);
    expect(Object.keys(good.entities[0].spans[0])).toEqual(['contentPart', 'messageIndex', 'charStart', 'charEnd', 'utf16ByteStart', 'utf16ByteEnd']);
    expect(Object.keys(good.labelProperties[0])).toEqual(['id', 'name', 'value']);
    for (const o of out) {
      if ('error' in o) continue;
      for (const label of o.labels) {
        expect(Object.keys(label)).toEqual(['name', 'fullName', 'probability', 'sentiment']);
        expect(label.fullName).toBe(label.name.join(' > '));
      }
    }
    // Outputs never share their arrays: a consumer may change one output without touching another.
    const [a, b] = [out[0], out[1]] as Prediction<unknown>[];
    expect(a.labels).not.toBe(b.labels);
    expect(a.entities).not.toBe(b.entities);
    expect(a.labelProperties).not.toBe(b.labelProperties);
  });

  it('predictComments outputs carry the uid right after the input', async () => {
    const [uid] = emulator.reinfer.commentUids(1);
    const [out] = await run<Prediction<unknown>>(predictComments({ ...conn(emulator) }), [uid]);
    expect(Object.keys(out)).toEqual(['input', 'uid', 'labels', 'entities', 'labelProperties', 'sentiment', 'model']);
  });
});

describe('predictRawEmails and predictComments', () => {
  it('predicts raw emails, with the parsed comment when includeComments', async () => {
    const email = {
      ref: 'e1',
      raw_email: {
        body: { html: '<p>My order ORD-555555 is missing.</p><p>Thanks,<br/>Ann</p>' },
        headers: { raw: 'Message-ID: <m1@x.com>\nSubject: Missing order\nFrom: ann@x.com\nTo: help@company.com' },
      },
    };
    const [out] = await run<Prediction<typeof email>>(predictRawEmails({ ...conn(emulator), transformTag: 'generic.0.CONVKER5', includeComments: true }), [email]);
    expect(out.input).toBe(email);
    expect(out.comment).toMatchObject({ id: 'm1@x.com', messages: [{ subject: { text: 'Missing order' }, body: { text: 'My order ORD-555555 is missing.' } }] });
    expect(out.labels.map((l) => l.fullName)).toContain('Order > Missing');
    expect(emulator.reinfer.requests().at(-1)).toMatchObject({ route: 'reinfer.predict-raw-emails', transformTag: 'generic.0.CONVKER5', includeComments: true });
  });

  it('predicts comments by uid (strings or {uid} objects), matched by uid', async () => {
    const uids = emulator.reinfer.commentUids(5);
    const inputs = [uids[0], { uid: uids[1], note: 'kept' }, uids[2], uids[3], uids[4]];
    const out = await run<Prediction<unknown>>(predictComments({ ...conn(emulator), batchSize: 2, version: 'staging', threshold: 'auto' }), inputs);
    expect(out.map((o) => o.uid)).toEqual(uids);
    expect(out[1].input).toEqual({ uid: uids[1], note: 'kept' });
    expect(out[0].model?.version).toBe(6);
    for (const o of out) for (const label of o.labels) expect(label.autoThresholds).toContain('high_recall');
    const bad = await run<PredictionResult<unknown>>(predictComments({ ...conn(emulator), onError: 'emit' }), [uids[0], 'nodot', `${uids[0].split('.')[0]}.9999`]);
    expect(bad.map((o) => ('error' in o ? o.index : 'ok'))).toEqual(['ok', 1, 2]);
  });
});
