/** predictInto: resumable, exactly-once predictions from a JSONL file into a destination, against the emulator over loopback. */
import { readFile, writeFile, appendFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createWriteStream } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AbortError, ConfigError } from '../src/core/errors.js';
import { parseJsonl, stringifyJsonl } from '../src/core/jsonl.js';
import { predictDocuments, predictInto } from '../src/reinfer/index.js';
import { conn, docs, reinferEmulatorPerFile } from './reinfer-helpers.js';
import { tempDir } from './helpers/temp-dir.js';

const emulator = reinferEmulatorPerFile();
const dir = tempDir('predict-into-');

const N = 300;
const BATCH = 20;
async function inputFile(name: string, n = N): Promise<string> {
  const path = join(dir(), name);
  // A blank line and a CRLF line: positions count bytes, not parsed items.
  const lines = docs(n).map((d) => JSON.stringify(d));
  lines.splice(5, 0, '');
  lines[9] += '\r';
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

/** Today's one-shot path: the file through predictDocuments into JSONL. */
async function oneShot(input: string, output: string): Promise<string> {
  const { createReadStream } = await import('node:fs');
  await pipeline(createReadStream(input), parseJsonl({ keepText: true }), predictDocuments({ ...conn(emulator()), batchSize: BATCH }), stringifyJsonl(), createWriteStream(output));
  return readFile(output, 'utf8');
}

describe('predictInto', () => {
  it('writes the same JSONL bytes as the one-shot stream, and a rerun after the end sends nothing', async () => {
    const input = await inputFile('a.jsonl');
    const expected = await oneShot(input, join(dir(), 'a-expected.jsonl'));
    const file = join(dir(), 'a.jsonl.out');
    const summary = await predictInto({ ...conn(emulator()), input, file, format: 'jsonl', batchSize: BATCH });
    expect(summary).toMatchObject({ records: N, resumed: false, format: 'jsonl', files: [file] });
    expect(await readFile(file, 'utf8')).toBe(expected);
    const before = emulator().reinfer.documentsReceived();
    const again = await predictInto({ ...conn(emulator()), input, file, format: 'jsonl', batchSize: BATCH });
    expect(again).toMatchObject({ records: N, resumed: true });
    expect(again.stats.documents).toBe(0);
    expect(emulator().reinfer.documentsReceived()).toBe(before);
    expect(await readFile(file, 'utf8')).toBe(expected);
  });

  it('resumes after an abort without re-sending committed inputs: same bytes, each input once', async () => {
    const input = await inputFile('b.jsonl');
    const expected = await oneShot(input, join(dir(), 'b-expected.jsonl'));
    const file = join(dir(), 'b-out.jsonl');
    const start = emulator().reinfer.documentsReceived();
    let runs = 0;
    for (;;) {
      runs++;
      const controller = new AbortController();
      try {
        // Stop after a few committed pages; each run goes further.
        await predictInto({ ...conn(emulator()), input, file, batchSize: BATCH, concurrency: 2, signal: controller.signal, onProgress: (stats) => stats.records >= 60 && controller.abort() });
        break;
      } catch (error) {
        expect(error).toBeInstanceOf(AbortError);
      }
      expect(runs).toBeLessThan(20);
    }
    expect(runs).toBeGreaterThan(2);
    expect(await readFile(file, 'utf8')).toBe(expected);
    // At most the batches in flight or buffered at each stop are sent again.
    expect(emulator().reinfer.documentsReceived() - start).toBeLessThanOrEqual(N + runs * (2 + 2) * BATCH);
  });

  it('refuses a changed input file and other settings on resume, naming what changed', async () => {
    const input = await inputFile('c.jsonl', 50);
    const file = join(dir(), 'c.csv');
    const controller = new AbortController();
    await expect(predictInto({ ...conn(emulator()), input, file, batchSize: 10, concurrency: 1, signal: controller.signal, onProgress: () => controller.abort() })).rejects.toThrow(AbortError);
    const threshold = predictInto({ ...conn(emulator()), input, file, batchSize: 10, threshold: 0.5 });
    await expect(threshold).rejects.toThrow(ConfigError);
    await expect(threshold).rejects.toThrow(/threshold.*differs from the run being resumed/);
    await expect(predictInto({ ...conn(emulator()), input, file, dataset: 'other' })).rejects.toThrow(/dataset/);
    await expect(predictInto({ ...conn(emulator()), input, file, columns: ['id', 'top_label'] })).rejects.toThrow(/columns/);
    await appendFile(input, `${JSON.stringify(docs(1)[0])}\n`);
    const changed = predictInto({ ...conn(emulator()), input, file, batchSize: 10 });
    await expect(changed).rejects.toThrow(ConfigError);
    await expect(changed).rejects.toThrow(/input.*is not the file the predictions .* were made from \(size/);
  });

  it('skipInvalid: refused inputs are committed like the rest, with their index in the whole input across resumes', async () => {
    const input = join(dir(), 'h.jsonl');
    const inputs = docs(120).map((d, i) => (i % 17 === 3 ? { id: d.id } : d));
    await writeFile(input, `${inputs.map((d) => JSON.stringify(d)).join('\n')}\n`);
    const file = join(dir(), 'h-out.jsonl');
    for (let runs = 0; ; runs++) {
      expect(runs).toBeLessThan(20);
      const controller = new AbortController();
      const done = await predictInto({ ...conn(emulator()), input, file, skipInvalid: true, batchSize: 10, concurrency: 1, signal: controller.signal, onProgress: (stats) => stats.records >= 30 && controller.abort() }).then(
        () => true,
        (error: unknown) => (error instanceof AbortError ? false : Promise.reject(error)),
      );
      if (done) break;
    }
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { input: { id: number }; index?: number; error?: { name: string; message: string } });
    expect(lines.map((line) => line.input.id)).toEqual(inputs.map((d) => d.id));
    const failures = lines.filter((line) => line.error);
    expect(failures.map((line) => line.index)).toEqual(inputs.flatMap((d, i) => ('messages' in d ? [] : [i])));
    expect(failures[0].error).toEqual({ name: 'InvalidDocumentError', message: expect.stringMatching(/messages is required/) });
    // Error messages name the input's index in the whole file, as a one-shot run's do.
    for (const failure of failures) expect(failure.error!.message).toContain(`input ${failure.index}:`);
  });

  it('refuses the input file as the output', async () => {
    const input = await inputFile('same.jsonl', 3);
    await expect(predictInto({ ...conn(emulator()), input, file: input })).rejects.toThrow(/is the input file/);
  });

  it('refuses stdin and pipes', async () => {
    await expect(predictInto({ ...conn(emulator()), input: '/dev/stdin', file: join(dir(), 'x.jsonl') })).rejects.toThrow(/cannot be resumed/);
  });

  it('writes prediction rows to CSV: id, top label, JSON labels; chosen columns; hostile ids go to extras', async () => {
    const input = join(dir(), 'd.jsonl');
    await writeFile(input, [{ id: 'a', messages: [{ body: { text: 'Order ORD-1 is missing' } }] }, { id: 7, messages: [{ body: { text: 'Please send the invoice' } }] }, { id: 'nul\u0000id', messages: [{ body: { text: 'hi' } }] }].map((d) => JSON.stringify(d)).join('\n'));
    const file = join(dir(), 'd.csv');
    await predictInto({ ...conn(emulator()), input, file });
    const [header, first, second, third] = (await readFile(file, 'utf8')).split('\r\n');
    expect(header).toBe('id,top_label,top_probability,labels,entities,sentiment,model_version,extras');
    expect(first).toMatch(/^a,Order( > Missing)?,0\.\d+,"\[\{""name"":/);
    expect(second).toMatch(/^7,/);
    expect(third).toMatch(/^,.*"\{""id"":""nul\\u0000id""\}"$/);
    const chosen = join(dir(), 'e.csv');
    await predictInto({ ...conn(emulator()), input, file: chosen, columns: ['id', 'top_label', 'input'] });
    expect((await readFile(chosen, 'utf8')).split('\r\n')[0]).toBe('id,top_label,input,extras');
    const kept = join(dir(), 'f.csv');
    await predictInto({ ...conn(emulator()), input, file: kept, keepInput: true, idField: 'missing' });
    const rows = (await readFile(kept, 'utf8')).split('\r\n');
    expect(rows[0]).toBe('id,top_label,top_probability,labels,entities,sentiment,model_version,input,extras');
    expect(rows[1]).toMatch(/^,Order/);
    await expect(predictInto({ ...conn(emulator()), input, file: join(dir(), 'g.csv'), columns: ['id', 'nope' as 'id'] })).rejects.toThrow(/has no column "nope"/);
    await expect(predictInto({ ...conn(emulator()), input, file: join(dir(), 'g.jsonl'), columns: ['id'] })).rejects.toThrow(/are for tables/);
    await rm(join(dir(), 'g.csv'), { force: true });
  });
});

void Readable;
