// Contract tests of the Innerworks emulator over HTTP: every documented body byte for byte,
// pagination with ties and concurrent appends, and the curl examples of seed 000.
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';

const PATH = '/api/v1/innerworks/inference/batch';
const KEY = 'emulator-innerworks-key';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

interface Page {
  batchSize: number;
  results: Array<{ requestId: string; timestamp: string; [key: string]: unknown }>;
  checkpoint: string;
}

async function get(query: string, headers: Record<string, string> = { 'x-api-key': KEY }) {
  const res = await request(`${emulator!.url}${PATH}${query}`, { headers });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: () => JSON.parse(text) as Page };
}

function decode(checkpoint: string): unknown {
  return JSON.parse(Buffer.from(checkpoint, 'base64').toString('utf8'));
}

async function readAll(batchSize: number, startQuery = ''): Promise<Page['results']> {
  const all: Page['results'] = [];
  let query = `?batch_size=${batchSize}${startQuery}`;
  for (;;) {
    const page = (await get(query)).json();
    if (page.results.length === 0) return all;
    all.push(...page.results);
    query = `?${new URLSearchParams({ checkpoint: page.checkpoint, batch_size: String(batchSize) })}`;
  }
}

describe('Innerworks emulator', () => {
  it('answers a missing x-api-key with the documented 401 body, byte for byte', async () => {
    emulator = await startEmulator({ records: 10 });
    const res = await get('', {});
    expect(res.status).toBe(401);
    expect(res.text).toBe('{"statusCode":401,"message":"Header x-api-key is required"}');
    expect((await get('', { 'x-api-key': '' })).status).toBe(401);
  });

  it('restricts keys with apiKeys', async () => {
    emulator = await startEmulator({ innerworks: { records: 10, apiKeys: ['good-key-123'] } });
    expect((await get('', { 'x-api-key': 'bad-key-456' })).status).toBe(401);
    expect((await get('', { 'x-api-key': 'good-key-123' })).status).toBe(200);
  });

  it('serves 1000 records by default with every field of seed 000', async () => {
    emulator = await startEmulator({ records: 1500 });
    const page = (await get('')).json();
    expect(page.batchSize).toBe(1000);
    expect(page.results).toHaveLength(1000);
    expect(Object.keys(page)).toEqual(['batchSize', 'results', 'checkpoint']);
    let vpn = 0;
    let us = 0;
    let v6 = 0;
    for (const record of page.results as unknown as Array<{
      requestId: string;
      projectId: string;
      timestamp: string;
      result: { fingerprinting: Record<string, string>; geolocation: Record<string, unknown> };
    }>) {
      expect(record.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(typeof record.projectId).toBe('string');
      expect(new Date(record.timestamp).toISOString()).toBe(record.timestamp);
      expect(Object.keys(record.result.fingerprinting).sort()).toEqual(['browser', 'deviceOs', 'fingerprint', 'socialId']);
      const geo = record.result.geolocation;
      expect(typeof geo.vpnIsEnabled).toBe('boolean');
      expect(typeof geo.trueGeoLocationName).toBe('string');
      expect(geo.trueGeoLocationCode).toMatch(/^[A-Z]{2}$/);
      expect(typeof geo.trueUserIpAddress).toBe('string');
      expect(typeof geo.requestIpAddress).toBe('string');
      if (geo.vpnIsEnabled) {
        vpn++;
        expect(typeof geo.vpnProvider).toBe('string');
        expect(typeof geo.vpnLocationCode).toBe('string');
        expect(typeof geo.vpnDetectionReasons).toBe('string');
      } else {
        expect(geo).not.toHaveProperty('vpnProvider');
        expect(geo).not.toHaveProperty('vpnLocationCode');
      }
      if (geo.trueGeoLocationCode === 'US') {
        us++;
        expect(geo.stateUS).toMatch(/^[A-Z]{2}$/);
      } else {
        expect(geo).not.toHaveProperty('stateUS');
      }
      if (String(geo.trueUserIpAddress).includes(':')) v6++;
    }
    expect(vpn).toBeGreaterThan(250);
    expect(vpn).toBeLessThan(420);
    expect(us).toBeGreaterThan(0);
    expect(v6).toBeGreaterThan(0);
    expect(v6).toBeLessThan(1000);
    const last = page.results[999];
    expect(decode(page.checkpoint)).toEqual({ version: 1, state: [Date.parse(last.timestamp), last.requestId] });
    expect(Buffer.from(page.checkpoint, 'base64').toString()).toBe(`{"version":1,"state":[${Date.parse(last.timestamp)},"${last.requestId}"]}`);
  });

  it('refuses bad batch_size, future start_time and bad checkpoints with the documented bodies', async () => {
    emulator = await startEmulator({ records: 10 });
    for (const bad of ['0', '5001', 'abc', '1.5', '-1', '']) {
      const res = await get(`?batch_size=${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.text).toBe('{"cause":"batch_size","error":"batch_size must be between 1 and 5000"}');
    }
    expect((await get('?batch_size=5000')).status).toBe(200);
    const future = await get(`?start_time=${Date.now() + 60_000}`);
    expect(future.status).toBe(400);
    expect(future.text).toBe('{"cause":"start_time","error":"start_time must be before the current time"}');
    const wrongVersion = Buffer.from('{"version":2,"state":[1,"a"]}').toString('base64');
    const notJson = Buffer.from('hello').toString('base64');
    for (const bad of ['not a checkpoint!', notJson, wrongVersion, 'eyJ2ZXJzaW9uIjoxLCJzdGF0ZSI6WzE3MDQxMDMyMDAwMDAsInJlcS0xMDAiXX0 ']) {
      const res = await get(`?${new URLSearchParams({ checkpoint: bad })}`);
      expect(res.status, bad).toBe(400);
      expect(res.text).toBe('{"cause":"checkpoint","error":"invalid checkpoint string"}');
    }
  });

  it('answers the curl examples of seed 000', async () => {
    // One group a minute: the data spans the seed's example position (2024-01-01T10:00Z).
    emulator = await startEmulator({ innerworks: { records: 3000, stepMs: 60_000 } });
    expect((await get('')).json().results).toHaveLength(1000);
    expect((await get('?batch_size=2000')).json().results).toHaveLength(2000);
    const timed = (await get('?start_time=1704067200000&batch_size=500')).json();
    expect(timed.batchSize).toBe(500);
    expect(timed.results).toHaveLength(500);
    // The seed's own checkpoint (state [1704103200000, "req-100"]), URL-encoded as in the example.
    const res = await get('?checkpoint=eyJ2ZXJzaW9uIjoxLCJzdGF0ZSI6WzE3MDQxMDMyMDAwMDAsInJlcS0xMDAiXX0%3D&batch_size=1000');
    expect(res.status).toBe(200);
    const page = res.json();
    expect(Date.parse(page.results[0].timestamp)).toBeGreaterThanOrEqual(1704103200000);
  });

  it('returns records from start_time inclusive, and a checkpoint wins over start_time', async () => {
    emulator = await startEmulator({ records: 100 });
    const ts = emulator.innerworks.timestampOf(30);
    const page = (await get(`?start_time=${ts}&batch_size=5`)).json();
    expect(page.results[0]).toEqual(JSON.parse(emulator.innerworks.recordJson(30)));
    const next = await get(`?${new URLSearchParams({ checkpoint: page.checkpoint, start_time: String(Date.now() + 1e9), batch_size: '5' })}`);
    expect(next.status).toBe(200);
    expect(next.json().results[0]).toEqual(JSON.parse(emulator.innerworks.recordJson(35)));
  });

  it('pages through ties on page boundaries without skipping or repeating', async () => {
    emulator = await startEmulator({ records: 100 });
    for (const batchSize of [1, 2, 7, 100, 5000]) {
      const all = await readAll(batchSize);
      expect(all.map((r) => JSON.stringify(r))).toEqual(Array.from({ length: 100 }, (_, i) => emulator!.innerworks.recordJson(i)));
    }
    const all = await readAll(50);
    // Ties exist, ordered by requestId inside one millisecond.
    expect(all[0].timestamp).toBe(all[1].timestamp);
    for (let i = 1; i < all.length; i++) {
      const order = all[i - 1].timestamp < all[i].timestamp || (all[i - 1].timestamp === all[i].timestamp && all[i - 1].requestId < all[i].requestId);
      expect(order).toBe(true);
    }
    expect(new Set(all.map((r) => r.requestId)).size).toBe(100);
  });

  it('ends with an empty page whose checkpoint returns records appended later', async () => {
    emulator = await startEmulator({ records: 4 });
    const first = (await get('?batch_size=10')).json();
    expect(first.results).toHaveLength(4);
    const end = (await get(`?${new URLSearchParams({ checkpoint: first.checkpoint, batch_size: '10' })}`)).json();
    expect(end.results).toEqual([]);
    expect(decode(end.checkpoint)).toEqual(decode(first.checkpoint));
    emulator.innerworks.append(5);
    expect(emulator.innerworks.size).toBe(9);
    const more = (await get(`?${new URLSearchParams({ checkpoint: end.checkpoint, batch_size: '10' })}`)).json();
    expect(more.results.map((r) => JSON.stringify(r))).toEqual([4, 5, 6, 7, 8].map((i) => emulator!.innerworks.recordJson(i)));
    const empty = await startEmulator({ records: 0 });
    try {
      const res = await request(`${empty.url}${PATH}?start_time=1000`, { headers: { 'x-api-key': KEY } });
      const page = (await res.body.json()) as Page;
      expect(page.results).toEqual([]);
      expect(decode(page.checkpoint)).toEqual({ version: 1, state: [1000, ''] });
    } finally {
      await empty.close();
    }
  });

  it('keeps a cursor consistent while records are appended', async () => {
    emulator = await startEmulator({ records: 50 });
    const seen: string[] = [];
    let query = '?batch_size=7';
    for (let round = 0; round < 40; round++) {
      const page = (await get(query)).json();
      seen.push(...page.results.map((r) => r.requestId));
      if (round % 3 === 0) emulator.innerworks.append(4);
      query = `?${new URLSearchParams({ checkpoint: page.checkpoint, batch_size: '7' })}`;
      if (page.results.length === 0 && round > 30) break;
    }
    expect(seen.length).toBe(emulator.innerworks.size);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('grows by growPerSecond', async () => {
    emulator = await startEmulator({ innerworks: { records: 0, growPerSecond: 500 } });
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(emulator.innerworks.size).toBeGreaterThan(0);
    const all = await readAll(1000);
    expect(all.length).toBeGreaterThan(0);
  });

  it('serves the same bytes for a repeated 5000-record page, and counts stats', async () => {
    emulator = await startEmulator({ records: 6000 });
    const a = await get('?batch_size=5000');
    const b = await get('?batch_size=5000');
    expect(a.text).toBe(b.text);
    expect(a.text.length / 5000).toBeGreaterThan(300);
    const stats = emulator.stats()['innerworks.batch'];
    expect(stats.requests).toBe(2);
    expect(stats.bytesOut).toBe(2 * Buffer.byteLength(a.text));
  });
});
