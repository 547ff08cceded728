// ingestFile(): a JSONL file added to a namespace resumably, over real HTTP to the emulator. The
// position acknowledged in input order is saved beside the file; a rerun skips it.
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, JsonlError } from '../src/core/errors.js';
import { readJsonlFrom, type LinePosition } from '../src/core/jsonl-positions.js';
import { LockedError } from '../src/core/lock-file.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { dataWriter, ingestFile, type DataAcknowledgedEvent } from '../src/safetykit/index.js';
import { tempDir } from './helpers/temp-dir.js';

let emulator: Emulator;
const dir = tempDir('ingest-file-');
const fast = { retry: { baseDelayMs: 1, maxDelayMs: 20 } } as const;
const conn = (namespace: string) => ({ baseUrl: emulator.url, apiKey: emulator.env.SAFETYKIT_API_KEY, namespace, ...fast });

beforeAll(async () => {
  emulator = await startEmulator({ faults: { retryAfterMs: 5 } });
});
afterAll(() => emulator.close());

async function jsonlFile(name: string, n: number, prefix = 'o'): Promise<string> {
  const path = join(dir(), name);
  await writeFile(path, Array.from({ length: n }, (_, i) => `${JSON.stringify({ id: `${prefix}-${i}`, n: i })}\n`).join(''));
  return path;
}

const total = (counts: Map<string, number>) => [...counts.values()].reduce((sum, count) => sum + count, 0);

describe('ingestFile', () => {
  it('adds every object once, keeps its state, and sends nothing when run again', async () => {
    const file = await jsonlFile('once.jsonl', 250);
    const first = await ingestFile({ ...conn('once'), file, batchSize: 20, concurrency: 3 });
    expect(first).toMatchObject({ objects: 250, resumed: false, totalObjects: 250, stateFile: `${file}.ingest-state.json` });
    const state = JSON.parse(await readFile(`${file}.ingest-state.json`, 'utf8')) as { finished: boolean; position: LinePosition; namespace: string };
    expect(state).toMatchObject({ finished: true, namespace: 'once', position: { line: 250 } });
    const again = await ingestFile({ ...conn('once'), file, batchSize: 20, concurrency: 3 });
    expect(again).toMatchObject({ objects: 0, resumed: true, totalObjects: 250, requestIds: [] });
    const ids = emulator.safetykit.addedIds('once');
    expect(ids.size).toBe(250);
    expect(total(ids)).toBe(250);
  });

  it('resumes after an abort from the position acknowledged in input order, resending at most the batches in flight', async () => {
    const N = 2000;
    const BATCH = 25;
    const CONCURRENCY = 4;
    const file = await jsonlFile('abort.jsonl', N);
    emulator.setFaults({ rate: 0.1, kinds: ['500', '503', '429', 'reset', 'truncate'], routes: ['safetykit.add'], retryAfterMs: 5 });
    try {
      const controller = new AbortController();
      let accepted = 0;
      const onRequest = () => void (++accepted === 30 && controller.abort());
      await expect(ingestFile({ ...conn('abort'), file, batchSize: BATCH, concurrency: CONCURRENCY, signal: controller.signal, onRequest })).rejects.toThrow();
      const saved = JSON.parse(await readFile(`${file}.ingest-state.json`, 'utf8')) as { position: LinePosition; objects: number; finished: boolean };
      expect(saved.finished).toBe(false);
      expect(saved.position.line).toBeGreaterThan(0);
      expect(saved.objects).toBe(saved.position.line);
      let resumedFrom: LinePosition | undefined;
      const summary = await ingestFile({ ...conn('abort'), file, batchSize: BATCH, concurrency: CONCURRENCY, onResume: (from) => (resumedFrom = from) });
      expect(resumedFrom).toEqual(saved.position);
      expect(summary).toMatchObject({ resumed: true, resumedFrom: saved.position, totalObjects: N, position: { line: N } });
      const ids = emulator.safetykit.addedIds('abort');
      expect(ids.size).toBe(N);
      // Faults that cut an answer after the handler ran (reset, truncate) are resent by the retry too.
      const cut = emulator.stats()['safetykit.add'].faults;
      expect(total(ids)).toBeLessThanOrEqual(N + (CONCURRENCY + 1) * BATCH + cut * BATCH);
    } finally {
      emulator.setFaults({ rate: 0 });
    }
  });

  it('refuses a changed file and another namespace, naming them', async () => {
    const file = await jsonlFile('changed.jsonl', 30);
    await ingestFile({ ...conn('changed'), file, batchSize: 10 });
    const other = ingestFile({ ...conn('elsewhere'), file });
    await expect(other).rejects.toThrow(ConfigError);
    await expect(other).rejects.toMatchObject({ option: 'namespace', message: expect.stringContaining('"changed"') });
    await writeFile(file, `${await readFile(file, 'utf8')}{"id":"extra"}\n`);
    const changed = ingestFile({ ...conn('changed'), file });
    await expect(changed).rejects.toMatchObject({ option: 'file', message: expect.stringContaining('changed since the ingest recorded in') });
    // Same size, same mtime, other bytes: the hash of the edges tells.
    const same = join(dir(), 'same.jsonl');
    await writeFile(same, '{"id":"a"}\n');
    await ingestFile({ ...conn('same'), file: same });
    const stamp = new Date('2026-01-01T00:00:00Z');
    await utimes(same, stamp, stamp);
    await writeFile(same, '{"id":"b"}\n');
    await utimes(same, stamp, stamp);
    await expect(ingestFile({ ...conn('same'), file: same })).rejects.toMatchObject({ option: 'file' });
    expect(emulator.safetykit.addedIds('elsewhere').size).toBe(0);
  });

  it('refuses a second run of the same ingest while one runs (LockedError)', async () => {
    const file = await jsonlFile('locked.jsonl', 40);
    // Every add answers 50 ms late: the first run is still under way when the second starts.
    emulator.setFaults({ rate: 1, kinds: ['slow-headers'], routes: ['safetykit.add'], slowMs: 50 });
    try {
      let started!: () => void;
      const firstRequest = new Promise<void>((resolve) => (started = resolve));
      const first = ingestFile({ ...conn('locked'), file, batchSize: 10, concurrency: 1, onRequest: () => started() });
      await firstRequest;
      const second = ingestFile({ ...conn('locked'), file });
      await expect(second).rejects.toThrow(LockedError);
      await expect(second).rejects.toThrow(/is already running/);
      await first;
    } finally {
      emulator.setFaults({ rate: 0 });
    }
    expect(total(emulator.safetykit.addedIds('locked'))).toBe(40);
  });

  it('stops at a bad line after adding the objects before it, and a rerun stops there again without resending', async () => {
    const file = join(dir(), 'bad.jsonl');
    await writeFile(file, `${Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: `b-${i}` })).join('\n')}\n{"title":"no id"}\n{"id":"after"}\n`);
    const run = () => ingestFile({ ...conn('bad'), file, batchSize: 7 });
    await expect(run()).rejects.toThrow(JsonlError);
    await expect(run()).rejects.toMatchObject({ line: 31 });
    const ids = emulator.safetykit.addedIds('bad');
    expect(ids.size).toBe(30);
    expect(total(ids)).toBe(30);
    // With onInvalid: 'skip' the run goes past it and finishes.
    const skipped = await ingestFile({ ...conn('bad'), file, batchSize: 7, onInvalid: 'skip' });
    expect(skipped).toMatchObject({ objects: 1, skipped: 1, totalObjects: 31 });
  });

  it('refuses what cannot be resumed: a device path', async () => {
    await expect(ingestFile({ ...conn('dev'), file: '/dev/null' })).rejects.toMatchObject({ option: 'file' });
  });
});

describe("dataWriter's acknowledged position", () => {
  it('moves in input order only, through every batch accepted, and ends at the last line', async () => {
    const file = await jsonlFile('ack.jsonl', 300);
    emulator.setFaults({ rate: 0.2, kinds: ['slow-headers', '503'], routes: ['safetykit.add'], retryAfterMs: 5, slowMs: 30 });
    try {
      const writer = dataWriter({ ...conn('ack'), batchSize: 9, concurrency: 6 });
      const accepted: LinePosition[] = [];
      const acknowledged: DataAcknowledgedEvent[] = [];
      writer.on('request', (event: { position: LinePosition }) => accepted.push(event.position));
      writer.on('acknowledged', (event: DataAcknowledgedEvent) => {
        // Every batch ending at or before this position was accepted already.
        const ends = Array.from({ length: Math.floor(event.position.line / 9) }, (_, i) => (i + 1) * 9);
        for (const end of ends) expect(accepted.some((p) => p.line === end)).toBe(true);
        acknowledged.push(event);
      });
      await pipeline(Readable.from(readJsonlFrom(file)), writer);
      const lines = acknowledged.map((event) => event.position.line);
      expect(lines).toEqual([...lines].sort((a, b) => a - b));
      expect(acknowledged.at(-1)).toMatchObject({ position: { line: 300 }, objects: 300 });
      expect(writer.acknowledged?.line).toBe(300);
    } finally {
      emulator.setFaults({ rate: 0 });
    }
  });
});
