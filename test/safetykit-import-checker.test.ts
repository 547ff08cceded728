// The import's two-core line check (LineChecker + its worker) and the pooled-buffer upload.
import { readdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonlError } from '../src/core/errors.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { importResults, importWriter, type ImportWriter } from '../src/safetykit/index.js';
import { LineChecker } from '../src/safetykit/line-check.js';
import { tempDir } from './helpers/temp-dir.js';

let emulator: Emulator;
const spoolDir = tempDir('sk-checker-test-');
const conn = () => ({
  baseUrl: emulator.url,
  apiKey: 'sk-test-checker-0123456789',
  namespace: 'checker',
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

/** Lines 1..count as 64 KiB-ish Buffers; `bad` maps a line number to a replacement line. */
function* lines(count: number, bad: Record<number, string> = {}): Generator<Buffer> {
  let text = '';
  for (let n = 1; n <= count; n++) {
    text += `${bad[n] ?? JSON.stringify({ id: `line-${n}`, text: `text ${n} `.repeat(8) })}\n`;
    if (text.length > 65_000) {
      yield Buffer.from(text);
      text = '';
    }
  }
  if (text) yield Buffer.from(text);
}

/** The private checker of a writer (tests only). */
const checkerOf = (writer: ImportWriter) => (writer as unknown as { spool: { checker: LineChecker } }).spool.checker;

/** A checker over a plain line check, as the spool uses it. */
function plainChecker(options = {}) {
  return new LineChecker((buffer, start, end, line) => {
    const text = buffer.toString('utf8', start, end);
    if (text.trim() === '') return false;
    let value: { id?: unknown };
    try {
      value = JSON.parse(text) as { id?: unknown };
    } catch {
      throw new JsonlError(line, 'not JSON', text);
    }
    if (typeof value.id !== 'string' || value.id === '') throw new JsonlError(line, 'no id', text);
    return true;
  }, { workerAfterBytes: 0, batchBytes: 4096, ...options });
}

/** Feed `buffer` to the checker in runs of `perRun` lines, without waiting on the worker. */
async function feed(checker: LineChecker, buffer: Buffer, perRun: number): Promise<void> {
  let start = 0;
  let line = 1;
  while (start < buffer.length) {
    let end = start;
    let count = 0;
    while (count < perRun && end < buffer.length) {
      end = buffer.indexOf(10, end) + 1;
      count++;
    }
    await checker.check(buffer, start, end, line, count);
    start = end;
    line += count;
  }
}

describe('LineChecker', () => {
  it('names the exact line of a bad line found by the worker', async () => {
    const checker = plainChecker();
    const input = Buffer.concat([...lines(3000, { 2345: '{"name":"no id"}' })]);
    const error = await feed(checker, input, 50)
      .then(() => checker.settle())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JsonlError);
    expect((error as JsonlError).line).toBe(2345);
    expect(checker.workerLines).toBeGreaterThan(0);
    checker.close();
    expect(checker.workerRunning).toBe(false);
  });

  it('reports the earliest bad line when the worker and the main thread each find one', async () => {
    // Batches of ~4 KiB: the first ones go to the worker, later ones are checked here while it is busy.
    const checker = plainChecker();
    const input = Buffer.concat([...lines(2000, { 30: 'oops', 1990: 'also bad' })]);
    const error = await feed(checker, input, 20)
      .then(() => checker.settle())
      .catch((e: unknown) => e);
    expect((error as JsonlError).line).toBe(30);
    checker.close();
  });

  it('checks everything on the main thread when the worker is off, with the same errors', async () => {
    const checker = plainChecker({ useWorker: false });
    const input = Buffer.concat([...lines(500, { 321: '[1,2]' })]);
    const error = await feed(checker, input, 50)
      .then(() => checker.settle())
      .catch((e: unknown) => e);
    expect((error as JsonlError).line).toBe(321);
    expect(checker.workerLines).toBe(0);
    expect(checker.workerRunning).toBe(false);
  });
});

describe('importWriter with the line-check worker', () => {
  it('uploads every byte intact (two reused upload buffers) and the worker ends when done', async () => {
    const writer = importWriter(conn());
    let checker: LineChecker | undefined;
    writer.once('progress', () => (checker = checkerOf(writer)));
    await pipeline(Readable.from(lines(60_000)), writer);
    expect(writer.summary!.objects).toBe(60_000);
    expect(writer.summary!.bytes).toBeGreaterThan(6_000_000);
    expect(checker!.workerLines).toBeGreaterThan(0);
    expect(checker!.workerRunning).toBe(false);
    let n = 0;
    for await (const output of importResults({ ...conn(), requestId: writer.summary!.requestIds[0] })) {
      n++;
      if ((output as { id: string }).id !== `line-${n}`) throw new Error(`result ${n} is ${(output as { id: string }).id}`);
    }
    expect(n).toBe(60_000);
  });

  it('reports a bad line deep in a large input with its exact number, and uploads nothing', async () => {
    const uploadsBefore = emulator.safetykit.uploads().length;
    const writer = importWriter({ ...conn(), source: 'big.jsonl' });
    const error = await pipeline(Readable.from(lines(50_000, { 43_210: '{"id": 42}' })), writer).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JsonlError);
    expect((error as JsonlError).line).toBe(43_210);
    expect((error as Error).message).toContain('big.jsonl:43210');
    expect(checkerOf(writer).workerLines).toBeGreaterThan(0);
    expect(checkerOf(writer).workerRunning).toBe(false);
    expect(emulator.safetykit.uploads().length).toBe(uploadsBefore);
    expect(readdirSync(spoolDir())).toEqual([]);
  });

  it('ends the worker when the writer is destroyed mid-spool', async () => {
    const writer = importWriter(conn());
    const source = Readable.from(lines(1_000_000));
    source.pipe(writer);
    await new Promise<void>((resolve) => {
      const poll = () => (checkerOf(writer).workerRunning ? resolve() : setTimeout(poll, 5));
      poll();
    });
    source.unpipe(writer);
    source.destroy();
    writer.destroy();
    await new Promise((resolve) => writer.once('close', resolve));
    expect(checkerOf(writer).workerRunning).toBe(false);
    expect(readdirSync(spoolDir())).toEqual([]);
  });
});
