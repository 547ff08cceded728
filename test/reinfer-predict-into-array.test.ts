/** predictInto with a JSON array input (`[...]`, pretty-printed, or `{"data": [...]}`): resumable like JSONL, against the emulator over loopback. */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { AbortError, ConfigError, JsonArrayError } from '../src/core/errors.js';
import { parseJsonArray } from '../src/core/json-array.js';
import { stringifyJsonl } from '../src/core/jsonl.js';
import { predictDocuments, predictInto } from '../src/reinfer/index.js';
import { conn, docs, reinferEmulatorPerFile } from './reinfer-helpers.js';
import { tempDir } from './helpers/temp-dir.js';

const emulator = reinferEmulatorPerFile();
const dir = tempDir('predict-into-array-');

const N = 240;
const BATCH = 20;

/** Today's one-shot path: the array through predictDocuments into JSONL. */
async function oneShot(input: string, output: string, path?: string): Promise<string> {
  await pipeline(createReadStream(input), parseJsonArray({ keepText: true, objectsOnly: false, path }), predictDocuments({ ...conn(emulator()), batchSize: BATCH }), stringifyJsonl(), createWriteStream(output));
  return readFile(output, 'utf8');
}

/** Run predictInto, aborting each run after `stopAfter` committed records, until it completes; returns the number of runs. */
async function runWithStops(options: Parameters<typeof predictInto>[0], stopAfter: number): Promise<number> {
  for (let runs = 1; ; runs++) {
    expect(runs).toBeLessThan(30);
    const controller = new AbortController();
    const done = await predictInto({ ...options, signal: controller.signal, onProgress: (stats) => stats.records >= stopAfter && controller.abort() }).then(
      () => true,
      (error: unknown) => (error instanceof AbortError ? false : Promise.reject(error)),
    );
    if (done) return runs;
  }
}

const shapes = {
  'pretty-printed array': { name: 'pretty.json', text: () => `${JSON.stringify(docs(N), null, 2)}\n`, path: undefined },
  '{"data": [...]} object': { name: 'wrapped.json', text: () => `{"meta": {"tags": ["a", "b"]},\n "data": [\n${docs(N).map((d) => `  ${JSON.stringify(d)}`).join(',\n')}\n ],\n "count": ${N}}\n`, path: 'data' },
  'array sniffed without an extension': { name: 'compact-array', text: () => JSON.stringify(docs(N)), path: undefined },
} as const;

describe('predictInto with a JSON array input', () => {
  for (const [label, shape] of Object.entries(shapes)) {
    it(`${label}: stopped and rerun, every element once and in order, the same bytes as a one-shot run`, async () => {
      const input = join(dir(), shape.name);
      await writeFile(input, shape.text());
      const expected = await oneShot(input, join(dir(), `${shape.name}-expected.jsonl`), shape.path);
      const file = join(dir(), `${shape.name}-out.jsonl`);
      const start = emulator().reinfer.documentsReceived();
      const runs = await runWithStops({ ...conn(emulator()), input, file, batchSize: BATCH, concurrency: 2 }, 60);
      expect(runs).toBeGreaterThan(2);
      const output = await readFile(file, 'utf8');
      expect(output).toBe(expected);
      expect(output.trimEnd().split('\n').map((line) => (JSON.parse(line) as { input: { id: number } }).input.id)).toEqual(docs(N).map((d) => d.id));
      expect(emulator().reinfer.documentsReceived() - start).toBeLessThanOrEqual(N + runs * (2 + 2) * BATCH);
      // After the end: nothing sent again.
      const before = emulator().reinfer.documentsReceived();
      const again = await predictInto({ ...conn(emulator()), input, file, batchSize: BATCH });
      expect(again).toMatchObject({ records: N, resumed: true });
      expect(again.stats.documents).toBe(0);
      expect(emulator().reinfer.documentsReceived()).toBe(before);
    }, 60_000);
  }

  it('a table output resumes too (CSV)', async () => {
    const input = join(dir(), 'table.json');
    await writeFile(input, JSON.stringify(docs(100), null, 1));
    const file = join(dir(), 'table.csv');
    await runWithStops({ ...conn(emulator()), input, file, batchSize: 10, concurrency: 1 }, 30);
    const ids = (await readFile(file, 'utf8')).trimEnd().split('\r\n').slice(1).map((row) => Number(row.split(',')[0]));
    expect(ids).toEqual(docs(100).map((d) => d.id));
  });

  it('refuses to resume with another input shape, naming it', async () => {
    const input = join(dir(), 'shape.json');
    await writeFile(input, JSON.stringify({ data: docs(50) }));
    const file = join(dir(), 'shape.jsonl');
    const controller = new AbortController();
    await expect(predictInto({ ...conn(emulator()), input, file, batchSize: 10, concurrency: 1, signal: controller.signal, onProgress: () => controller.abort() })).rejects.toThrow(AbortError);
    const other = predictInto({ ...conn(emulator()), input, file, batchSize: 10, inputFormat: 'jsonl' });
    await expect(other).rejects.toThrow(ConfigError);
    await expect(other).rejects.toThrow(/inputShape.*differs from the run being resumed/);
    await expect(predictInto({ ...conn(emulator()), input, file, batchSize: 10, jsonPath: 'items' })).rejects.toThrow(/jsonPath.*differs/);
    // The same shape resumes and completes.
    const summary = await predictInto({ ...conn(emulator()), input, file, batchSize: 10 });
    expect(summary).toMatchObject({ records: 50, resumed: true });
  });

  it('a bad element after a resume is named by its index and line in the whole file; an object with two arrays is refused before anything is sent', async () => {
    const input = join(dir(), 'bad.json');
    const lines = docs(60).map((d) => JSON.stringify(d));
    lines[45] = '{"id": 45,}';
    await writeFile(input, `[\n${lines.join(',\n')}\n]\n`);
    const file = join(dir(), 'bad.jsonl');
    const controller = new AbortController();
    await expect(predictInto({ ...conn(emulator()), input, file, batchSize: 10, concurrency: 1, signal: controller.signal, onProgress: (stats) => stats.records >= 20 && controller.abort() })).rejects.toThrow(AbortError);
    const resumed = predictInto({ ...conn(emulator()), input, file, batchSize: 10, concurrency: 1 });
    await expect(resumed).rejects.toThrow(JsonArrayError);
    await expect(resumed).rejects.toThrow(`${input}:47 element [45]`);

    const two = join(dir(), 'two.json');
    await writeFile(two, JSON.stringify({ data: docs(3), more: docs(3) }));
    const before = emulator().reinfer.documentsReceived();
    await expect(predictInto({ ...conn(emulator()), input: two, file: join(dir(), 'two.jsonl') })).rejects.toThrow(/besides "data"/);
    expect(emulator().reinfer.documentsReceived()).toBe(before);
  });

  it('refuses bad input options before any I/O', async () => {
    const file = join(dir(), 'opts.jsonl');
    await expect(predictInto({ ...conn(emulator()), input: 'x.json', file, inputFormat: 'xml' as 'json' })).rejects.toThrow(/inputFormat/);
    await expect(predictInto({ ...conn(emulator()), input: 'x.jsonl', file, inputFormat: 'jsonl', jsonPath: 'data' })).rejects.toThrow(/jsonPath/);
  });
});
