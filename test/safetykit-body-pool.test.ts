// Add request bodies built in reused Buffers (BodyPool) are byte for byte the bodies built in
// fresh ones: a seeded random differential plus the hostile record texts, and, over real HTTP,
// every body a dataWriter sends (retried ones included) holds exactly its objects while other
// batches reuse the Buffers of accepted ones.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../src/emulator/http-util.js';
import { BatchBody, BodyPool } from '../src/safetykit/batch-body.js';
import { dataWriter, type DataObject } from '../src/safetykit/index.js';
import { hostileRecordTexts } from './helpers/hostile-page.js';
import { startTestServer, type Handler } from './helpers/server.js';

const PIECES = ['a', 'é', '✓', '😀', '\u0000', '\\"', '\ud800', '\udc00', ',', ']}', ' ', '\n'];

/** A JSON object text of about `length` characters, drawn from `random`. */
function randomText(random: () => number, index: number, length: number): string {
  let value = '';
  while (value.length < Math.min(length, 500)) value += PIECES[Math.floor(random() * PIECES.length)];
  // A large one repeats its random start (building 70 000 random characters one by one is slow).
  if (length > value.length) value = value.repeat(Math.ceil(length / value.length));
  return JSON.stringify({ id: `r-${index}`, value, n: Math.floor(random() * 1e9) });
}

/** The body a batch of `texts` must be. */
const expected = (texts: string[]) => Buffer.from(`{"data":[${texts.join(',')}]}`, 'utf8');

describe('BatchBody in pooled Buffers', () => {
  it('gives exactly the bytes of a fresh body, whatever the reused Buffer held before', () => {
    const random = seededRandom(18);
    const pool = new BodyPool(3);
    const hostile = hostileRecordTexts();
    let carried: Buffer | undefined;
    let carriedText: string | undefined;
    let index = 0;
    for (let round = 0; round < 120; round++) {
      const pooled = new BatchBody(Math.floor(random() * 2000), pool);
      const fresh = new BatchBody();
      const texts: string[] = [];
      if (carried !== undefined) {
        expect(pooled.appendBytes(carried)).toBe(carried.length + 1);
        fresh.appendBytes(carried);
        texts.push(carriedText!);
        carried = undefined;
      }
      const count = 1 + Math.floor(random() * 40);
      for (let i = 0; i < count; i++) {
        // Mostly small objects, now and then one that makes the Buffer grow, and the hostile ones.
        const roll = random();
        const text = roll < 0.1 ? hostile[index % hostile.length] : randomText(random, index, roll > 0.97 ? 70_000 : Math.floor(random() * 400));
        index++;
        expect(pooled.append(text)).toBe(fresh.append(text));
        texts.push(text);
      }
      if (random() < 0.3) {
        // The last object goes to the next body, as when it would overflow maxBatchBytes.
        carried = pooled.removeLast();
        expect(fresh.removeLast().equals(carried)).toBe(true);
        carriedText = texts.pop();
      }
      expect([pooled.count, pooled.bytes]).toEqual([fresh.count, fresh.bytes]);
      const body = pooled.finish();
      expect(body.equals(fresh.finish())).toBe(true);
      expect(body.equals(expected(texts))).toBe(true);
      // Released in a random order, as requests finish: the pool keeps at most 3.
      if (random() < 0.8) pooled.release();
    }
  });

  it('hands a released Buffer to the next body, and keeps no more than it was told', () => {
    const pool = new BodyPool(1);
    const first = new BatchBody(100_000, pool);
    first.append('{"id":"first"}');
    const view = first.finish();
    first.release();
    const second = new BatchBody(100_000, pool);
    second.append('{"id":"2"}');
    // The same memory: the first view is stale now, which is why only accepted bodies are released.
    const secondView = second.finish();
    expect(secondView.buffer).toBe(view.buffer);
    expect(secondView.toString()).toBe('{"data":[{"id":"2"}]}');
    const a = new BatchBody(100_000, pool);
    const b = new BatchBody(100_000, pool);
    const [aMemory, bMemory] = [a.finish().buffer, b.finish().buffer];
    a.release();
    b.release();
    // Only a's Buffer was kept (at most 1): the next body gets it, the one after a new Buffer.
    expect(new BatchBody(100_000, pool).finish().buffer).toBe(aMemory);
    const next = new BatchBody(100_000, pool).finish().buffer;
    expect(next).not.toBe(aMemory);
    expect(next).not.toBe(bMemory);
  });
});

describe('dataWriter reusing the Buffers of accepted batches', () => {
  it('sends every batch, each retry too, with exactly its objects while batches finish out of order', async () => {
    const random = seededRandom(1805);
    const objects: DataObject[] = Array.from({ length: 3000 }, (_, i) => ({
      id: `obj-${i}`,
      text: 'é😀\u0000'.repeat(Math.floor(random() * 60)) + 'x'.repeat(Math.floor(random() * 300)),
      n: i,
    }));
    const hostile = hostileRecordTexts().map((text, i) => ({ id: `hostile-${i}`, ...(JSON.parse(text) as object) }));
    const input = [...objects.slice(0, 1500), ...hostile, ...objects.slice(1500)];
    // Answers in a random order (a random delay each), a third of them 429 or 503 first.
    let n = 0;
    const answer: Handler = (_req, res) => {
      const roll = random();
      const delay = Math.floor(random() * 15);
      const id = n++;
      setTimeout(() => {
        if (roll < 0.2) res.writeHead(429, { 'retry-after-ms': '1', 'content-type': 'application/json' }).end('{"error":"slow down"}');
        else if (roll < 0.33) res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"busy"}');
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ requestId: `req-${id}`, status: 'accepted' }));
      }, delay);
    };
    const server = await startTestServer(answer);
    try {
      const writer = dataWriter({ baseUrl: server.url, apiKey: 'sk-pool-test', namespace: 'pool', batchSize: 97, concurrency: 4, retry: { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 50 } });
      await pipeline(Readable.from(input), writer);
      expect(writer.summary?.objects).toBe(input.length);
      expect(writer.summary?.retries).toBeGreaterThan(0);
      // Every body the server read is a whole batch of consecutive input objects, exactly as written.
      const seen = new Map<string, number>();
      for (const request of server.requests) {
        const batch = (JSON.parse(request.body.toString('utf8')) as { data: DataObject[] }).data;
        const start = input.findIndex((object) => object.id === batch[0].id);
        expect(request.body.equals(Buffer.from(JSON.stringify({ data: input.slice(start, start + batch.length) }), 'utf8'))).toBe(true);
        for (const object of batch) seen.set(object.id, (seen.get(object.id) ?? 0) + 1);
      }
      expect([...seen.keys()].sort()).toEqual(input.map((object) => object.id).sort());
    } finally {
      await server.close();
    }
  });
});
