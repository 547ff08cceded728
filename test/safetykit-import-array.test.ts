/**
 * A JSON array imports like a JSONL file: in place (its JSONL view streams into the PUT), resumably
 * (byte ranges recorded beside it), and with each element's own text, so numbers and duplicate
 * keys arrive as written on every import path: a JSON-array file, `import --in -`, and
 * `importWriter()` given `JsonText` items. Real HTTP to the emulator over loopback.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JsonArrayError } from '../src/core/errors.js';
import { parseJsonArray } from '../src/core/json-array.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { importFile, importWriter, InputChangedError } from '../src/safetykit/index.js';
import { captureCli } from './helpers/cli.js';
import { rejection } from './helpers/rejection.js';
import { tempDir } from './helpers/temp-dir.js';

const KEY = 'sk-test-import-array-0123456789';
let emulator: Emulator;
const dir = tempDir('sk-import-array-');
let spoolDir: string;

beforeAll(async () => {
  emulator = await startEmulator({ safetykit: { queuedMs: 5, ingestingMs: 10 } });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  spoolDir = join(dir(), `spool-${Math.random().toString(36).slice(2)}`);
  mkdirSync(spoolDir);
});

const conn = (namespace: string) => ({
  baseUrl: emulator.url,
  apiKey: KEY,
  namespace,
  spoolDir,
  retry: { baseDelayMs: 1, maxDelayMs: 20 },
  pollIntervalMs: 5,
  maxPollIntervalMs: 20,
});

/** Element texts that JSON.parse + JSON.stringify would change: big integers, 1e400, -0, 1.0, duplicate keys. */
const FRAGILE = ['{"id":"f1","n":12345678901234567890}', '{"id":"f2","n":1e400,"m":-0,"f":1.0}', '{"id":"f3","k":1,"k":2}', '{"id":"f4","x":[0.10,2E3],"s":"a,b]}\\"c"}'];

function write(name: string, text: string): string {
  const path = join(dir(), name);
  writeFileSync(path, text);
  return path;
}

/** `count` elements, pretty-printed over several lines each, the fragile ones first. */
function prettyElements(count: number, prefix: string): string[] {
  const elements = FRAGILE.map((text) => text.replace('"f', `"${prefix}-f`));
  for (let i = elements.length; i < count; i++) elements.push(`{\n    "id": "${prefix}-${i}",\n    "n": 1${i}.50,\n    "body": "lorem, ipsum ] dolor } ${'x'.repeat(i % 50)}"\n  }`);
  return elements;
}

/** What each element becomes in the upload: its text on one line, digits unchanged. */
const asLine = (text: string) => text.replace(/[\r\n]/g, ' ');

async function importedLines(namespace: string): Promise<string[]> {
  return (await emulator.safetykit.importedLines(namespace)).map((line) => line.trim());
}

describe('importFile({format: "json"})', () => {
  it('uploads the file in place as its JSONL view: each element its own text on one line, in parts of whole elements', async () => {
    const elements = prettyElements(3000, 'view');
    const text = `\uFEFF[\r\n  ${elements.join(',\r\n  ')}\r\n]\r\n`;
    const file = write('view.json', text);
    const uploadsBefore = emulator.safetykit.uploads().length;
    const summary = await importFile({ ...conn('view'), file, format: 'json', partBytes: 40_000 });
    expect(summary).toMatchObject({ objects: 3000, resumed: false, partsSkipped: 0 });
    const uploads = emulator.safetykit.uploads().slice(uploadsBefore);
    expect(uploads.length).toBeGreaterThan(5);
    expect(uploads.every((upload) => upload.status === 200 && upload.bytes <= 40_000)).toBe(true);
    // Byte for byte: everything between "[" and the end of "]" (the view is as long as the file).
    expect(uploads.reduce((sum, upload) => sum + upload.bytes, 0)).toBe(Buffer.byteLength(text) - Buffer.byteLength('\uFEFF[') - 2);
    expect(readdirSync(spoolDir)).toEqual([]);
    const lines = await importedLines('view');
    expect(lines).toEqual(elements.map(asLine));
    expect(lines.slice(0, 4)).toEqual(FRAGILE.map((line) => line.replace('"f', '"view-f')));
  });

  it('reads {"data": [...]}, other keys after it included, and an empty array imports nothing', async () => {
    const file = write('wrapped.json', `{ "data" : [${FRAGILE.join(',')}], "next": {"cursor": [1, 2]} }\n`);
    const summary = await importFile({ ...conn('wrapped'), file, format: 'json' });
    expect(summary.objects).toBe(4);
    expect(await importedLines('wrapped')).toEqual(FRAGILE);

    const importsBefore = emulator.stats()['safetykit.import']?.requests ?? 0;
    const empty = await importFile({ ...conn('wrapped'), file: write('empty.json', '[ \n ]\n'), format: 'json' });
    expect(empty).toMatchObject({ objects: 0, requestIds: [] });
    expect(emulator.stats()['safetykit.import']?.requests ?? 0).toBe(importsBefore);
  });

  it('run again after it finished: sends nothing and reports the same requests', async () => {
    const file = write('twice.json', JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ id: `twice-${i}`, n: i })), null, 1));
    const done = await importFile({ ...conn('twice'), file, format: 'json', partBytes: 20_000 });
    const uploadsBefore = emulator.safetykit.uploads().length;
    const again = await importFile({ ...conn('twice'), file, format: 'json', partBytes: 20_000 });
    expect(again).toMatchObject({ requestIds: done.requestIds, objects: 2000, bytes: 0, resumed: true, partsSkipped: done.requestIds.length });
    expect(emulator.safetykit.uploads().length).toBe(uploadsBefore);
    const received = await emulator.safetykit.importedIds('twice');
    expect(received.size).toBe(2000);
    expect([...received.values()].every((times) => times === 1)).toBe(true);
  });

  it('stopped after some parts and run again: uploads only the rest, every element once', async () => {
    const file = write('stopped.json', `[${prettyElements(3000, 'stop').join(',\n')}]`);
    const controller = new AbortController();
    let uploaded = 0;
    const first = await rejection<Error>(
      importFile({ ...conn('stopped'), file, format: 'json', partBytes: 30_000, signal: controller.signal, onImport: (event) => event.stage === 'uploaded' && ++uploaded === 3 && controller.abort() }),
    );
    expect(first.name).toBe('AbortError');
    const summary = await importFile({ ...conn('stopped'), file, format: 'json', partBytes: 30_000 });
    expect(summary).toMatchObject({ objects: 3000, resumed: true });
    expect(summary.partsSkipped).toBeGreaterThanOrEqual(3);
    const received = await emulator.safetykit.importedIds('stopped');
    expect(received.size).toBe(3000);
    expect([...received.values()].every((times) => times === 1)).toBe(true);
  });

  for (const [what, text, index, line, problem] of [
    ['an element without an id', `[\n  {"id": "ok-0"},\n  {"id": "ok-1"},\n\n  {"name": "no id"}\n]`, 2, 5, /"id"/],
    ['a number', '[{"id": "a"},\n 7]', 1, 2, /not a JSON object/],
    ['two commas in a row', '[{"id": "a"},,{"id": "b"}]', 1, 1, /empty place/],
  ] as const) {
    it(`names ${what} by its index and line in the file, and uploads nothing`, async () => {
      const file = write(`bad-${index}-${line}.json`, text);
      const uploadsBefore = emulator.safetykit.uploads().length;
      const error = await rejection<JsonArrayError>(importFile({ ...conn('badarray'), file, format: 'json' }));
      expect(error).toBeInstanceOf(JsonArrayError);
      expect({ index: error.index, line: error.line }).toEqual({ index, line });
      expect(error.message).toContain(`${file}:${line} element [${index}]`);
      expect(error.message).toMatch(problem);
      expect(emulator.safetykit.uploads().slice(uploadsBefore).filter((upload) => upload.status === 200)).toEqual([]);
    });
  }

  for (const [what, text, problem] of [
    ['a trailing comma', '[{"id": "a"},\n]', /trailing comma/],
    ['text after the array', '[{"id": "a"}] x', /after the end of the array/],
    ['an array cut short', '[{"id": "a"}, {"id": "b"', /ended inside the array/],
    ['a document that is no array', '{"id": "a"}', /expected a JSON array/],
  ] as const) {
    it(`refuses ${what} before uploading`, async () => {
      const uploadsBefore = emulator.safetykit.uploads().length;
      const error = await rejection<JsonArrayError>(importFile({ ...conn('badarray'), file: write(`bad-${what.replace(/ /g, '-')}.json`, text), format: 'json' }));
      expect(error).toBeInstanceOf(JsonArrayError);
      expect(error.message).toMatch(problem);
      expect(emulator.safetykit.uploads().length).toBe(uploadsBefore);
    });
  }
});

describe('the same data arrives the same way on every import path', () => {
  async function cli(args: string[], stdinText?: string) {
    const run = captureCli({ env: { SAFETYKIT_BASE_URL: emulator.url, SAFETYKIT_API_KEY: KEY, TMPDIR: spoolDir }, ...(stdinText !== undefined ? { stdinText } : {}) });
    const code = await run.run('import', ...args);
    return { code, out: run.out(), err: run.err() };
  }
  const array = `[\n  ${FRAGILE.join(',\n  ')}\n]\n`;

  it('import --in FILE.json (resumable, in place)', async () => {
    const file = write('fragile.json', array);
    const { code, err } = await cli(['--namespace', 'path-file', '--in', file, '--wait', '--poll-interval-ms', '5']);
    expect(code, err).toBe(0);
    expect(await importedLines('path-file')).toEqual(FRAGILE);
    expect(statSync(`${file}.import-state.json`).isFile()).toBe(true);
  });

  it('import --in - (a JSON array on stdin, spooled)', async () => {
    const { code, err } = await cli(['--namespace', 'path-stdin', '--in', '-', '--wait', '--poll-interval-ms', '5'], array);
    expect(code, err).toBe(0);
    expect(await importedLines('path-stdin')).toEqual(FRAGILE);
  });

  it('import --in - of JSONL, and import --in FILE.jsonl', async () => {
    const jsonl = `${FRAGILE.join('\n')}\n`;
    expect((await cli(['--namespace', 'path-stdin-jsonl', '--in', '-'], jsonl)).code).toBe(0);
    expect(await importedLines('path-stdin-jsonl')).toEqual(FRAGILE);
    expect((await cli(['--namespace', 'path-jsonl', '--in', write('fragile.jsonl', jsonl)])).code).toBe(0);
    expect(await importedLines('path-jsonl')).toEqual(FRAGILE);
  });

  it('decides a file by its extension first: a .jsonl whose first line starts with {"data":[ is JSONL', async () => {
    const lines = ['{"data":[1,2],"id":"d1"}', '{"data":[3],"id":"d2"}'];
    expect((await cli(['--namespace', 'by-extension', '--in', write('looks-wrapped.jsonl', `${lines.join('\n')}\n`)])).code).toBe(0);
    expect(await importedLines('by-extension')).toEqual(lines);
  });

  it('import --in FILE.json of {"data": [...], "more": [...]}: refused naming "more", nothing uploaded (the other array would be left out)', async () => {
    const file = write('more.json', '{"data":[{"id":"a"}],"more":[{"id":"b"}]}');
    const uploadsBefore = emulator.safetykit.uploads().length;
    const { code, out } = await cli(['--namespace', 'path-more', '--in', file, '--json']);
    expect(code).toBe(1);
    const failure = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(failure.error.name).toBe('JsonArrayError');
    expect(failure.error.message).toContain('"more"');
    expect(failure.error.message).toContain('only the "data" array of {"data": [...]} is imported');
    expect(emulator.safetykit.uploads().length).toBe(uploadsBefore);
    // In many parts too: refused before the first one is uploaded.
    const elements = Array.from({ length: 400 }, (_, i) => `{"id":"many-${i}","pad":"${'x'.repeat(40)}"}`);
    const many = write('more-many.json', `{"data": [\n${elements.join(',\n')}\n],\n"more": [{"id": "b"}]}\n`);
    const refused = await cli(['--namespace', 'path-more', '--in', many, '--part-bytes', '2000', '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.out.trim().split('\n').at(-1)!).error.message).toContain(`${many}:402`);
    expect(emulator.safetykit.uploads().length).toBe(uploadsBefore);
    // Keys that hold no array are still skipped.
    expect((await cli(['--namespace', 'path-more', '--in', write('next.json', '{"data":[{"id":"a"}],"next":{"cursor":[1]},"n":2}')])).code).toBe(0);
  });

  it('import --in FILE.json of {"data": [...]} after 300 spaces: read as the wrapper the format sniff found', async () => {
    const file = write('spaced.json', `{${' '.repeat(300)}"data": [${FRAGILE.join(',')}]}`);
    const { code, err } = await cli(['--namespace', 'path-spaced', '--in', file]);
    expect(code, err).toBe(0);
    expect(await importedLines('path-spaced')).toEqual(FRAGILE);
  });

  it('importWriter() given JsonText items (parseJsonArray with keepText), strings and Buffers', async () => {
    const writer = importWriter({ ...conn('path-writer'), wait: false });
    await pipeline(Readable.from([Buffer.from(array)]), parseJsonArray({ keepText: true }), writer);
    expect(await importedLines('path-writer')).toEqual(FRAGILE);

    const text = importWriter({ ...conn('path-writer-text'), wait: false });
    await pipeline(Readable.from([FRAGILE[0], '\n', Buffer.from(`${FRAGILE[1]}\n${FRAGILE[2]}`), `\n${FRAGILE[3]}\n`], { objectMode: true }), text);
    expect(await importedLines('path-writer-text')).toEqual(FRAGILE);
  });
});

describe('a file replaced between runs', () => {
  it('same size and modification time, other bytes: refused (the hash of its first and last 64 KiB differs)', async () => {
    const lines = (tag: string) => Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: `${tag}-${String(i).padStart(5, '0')}`, body: 'lorem ipsum '.repeat(4) })).join('\n');
    const file = write('replaced.jsonl', `${lines('old')}\n`);
    const mtime = new Date('2026-01-02T03:04:05Z');
    utimesSync(file, mtime, mtime);
    const controller = new AbortController();
    await rejection(importFile({ ...conn('replaced'), file, partBytes: 50_000, signal: controller.signal, onImport: (event) => event.stage === 'uploaded' && controller.abort() }));

    writeFileSync(file, `${lines('new')}\n`);
    utimesSync(file, mtime, mtime);
    const uploadsBefore = emulator.safetykit.uploads().length;
    const error = await rejection<InputChangedError>(importFile({ ...conn('replaced'), file, partBytes: 50_000 }));
    expect(error).toBeInstanceOf(InputChangedError);
    expect(error.message).toContain(`${file} changed since the import recorded in ${file}.import-state.json (same size and modification time, but its first or last 64 KiB differ)`);
    expect(emulator.safetykit.uploads().length).toBe(uploadsBefore);
    expect(JSON.parse(readFileSync(`${file}.import-state.json`, 'utf8')).edgesSha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
