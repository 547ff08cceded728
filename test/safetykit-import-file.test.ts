/**
 * `importFile()` and `inference-streams import --in FILE`: the file itself streams into the PUT
 * (no spool copy) while its lines are checked; a bad line cuts the PUT short; output paths are
 * checked before anything is uploaded; an interrupted --wait says what was already sent.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JsonlError } from '../src/core/errors.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { importFile } from '../src/safetykit/index.js';
import { captureCli } from './helpers/cli.js';
import { rejection } from './helpers/rejection.js';
import { tempDir } from './helpers/temp-dir.js';

const KEY = 'sk-test-import-file-0123456789';
let emulator: Emulator;
const dir = tempDir('sk-import-file-');
let spoolDir: string;

beforeAll(async () => {
  emulator = await startEmulator({ safetykit: { queuedMs: 5, ingestingMs: 10 } });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.resetStats();
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

function lines(count: number, prefix: string, pad = 10): string[] {
  return Array.from({ length: count }, (_, i) => JSON.stringify({ id: `${prefix}-${i}`, title: `Article ${i} — ünïcødé`, body: 'lorem ipsum '.repeat(pad) }));
}

function write(name: string, text: string): string {
  const path = join(dir(), name);
  writeFileSync(path, text);
  return path;
}

describe('importFile', () => {
  it('streams the file itself into the PUT: Content-Length is its size, no spool file is written', async () => {
    const file = write('plain.jsonl', `${lines(30_000, 'plain').join('\n')}\n`);
    const size = statSync(file).size;
    const uploadsBefore = emulator.safetykit.uploads().length;
    const summary = await importFile({ ...conn('plain'), file });
    expect(summary).toMatchObject({ objects: 30_000, bytes: size, statuses: { succeeded: 1 }, resumed: false, partsSkipped: 0, stateFile: `${file}.import-state.json` });
    const uploads = emulator.safetykit.uploads().slice(uploadsBefore);
    expect(uploads).toEqual([expect.objectContaining({ status: 200, bytes: size, contentLength: String(size), hadAuthorization: false })]);
    expect(readdirSync(spoolDir)).toEqual([]);
    const received = await emulator.safetykit.importedIds('plain');
    expect(received.size).toBe(30_000);
  });

  it('splits into parts of whole lines at most partBytes long, each PUT a byte range of the file', async () => {
    const text = `${lines(2000, 'range').join('\n')}\n`;
    const file = write('range.jsonl', text);
    const uploadsBefore = emulator.safetykit.uploads().length;
    const summary = await importFile({ ...conn('range'), file, partBytes: 50_000 });
    const uploads = emulator.safetykit.uploads().slice(uploadsBefore);
    expect(summary.requestIds.length).toBe(uploads.length);
    expect(uploads.length).toBeGreaterThan(4);
    expect(uploads.every((upload) => upload.status === 200 && upload.bytes <= 50_000)).toBe(true);
    expect(uploads.reduce((sum, upload) => sum + upload.bytes, 0)).toBe(Buffer.byteLength(text));
    const received = await emulator.safetykit.importedIds('range');
    expect(received.size).toBe(2000);
    expect([...received.values()].every((times) => times === 1)).toBe(true);
  });

  it('accepts a byte order mark, CRLF, blank lines and a last line without a newline', async () => {
    const file = write('odd.jsonl', `\uFEFF{"id":"b1"}\r\n\r\n{"id":"b2"}\n   \n  {"id":"b3"}\n{"id":"b4"}`);
    const summary = await importFile({ ...conn('odd'), file });
    expect(summary.objects).toBe(4);
    expect([...(await emulator.safetykit.importedIds('odd')).keys()].sort()).toEqual(['b1', 'b2', 'b3', 'b4']);
  });

  for (const [where, badLine] of [
    ['early', 3],
    ['deep in a large file (found by the worker thread while the PUT runs)', 70_001],
    ['on the very last line', 80_000],
  ] as const) {
    it(`a bad line ${where} cuts the PUT short, names the line, and imports nothing`, async () => {
      const all = lines(80_000, 'bad', 4);
      all[badLine - 1] = '{"id": "half", oops}';
      const file = write(`bad-${badLine}.jsonl`, `${all.join('\n')}\n`);
      const namespace = `bad${badLine}`;
      const tickets: string[] = [];
      const uploadsBefore = emulator.safetykit.uploads().length;
      const error = await rejection<JsonlError>(importFile({ ...conn(namespace), file, onImport: (event) => tickets.push(event.requestId) }));
      expect(error).toBeInstanceOf(JsonlError);
      expect(error.line).toBe(badLine);
      expect(error.message).toContain(`${file}:${badLine}`);
      expect(emulator.safetykit.uploads().slice(uploadsBefore).filter((upload) => upload.status === 200)).toEqual([]);
      expect((await emulator.safetykit.importedIds(namespace)).size).toBe(0);
      // The request was asked for but never received its file: it is never ingested.
      expect(tickets).toHaveLength(1);
      expect(emulator.safetykit.request(tickets[0])?.state).toBe('uploading');
    });
  }
});

describe('importFile: resuming a part whose upload was under way', () => {
  it('sends the same bytes to the same upload URL when the PUT never arrived (still one import)', async () => {
    const file = write('inflight.jsonl', `${lines(20_000, 'inflight').join('\n')}\n`);
    const controller = new AbortController();
    const tickets: string[] = [];
    const first = await rejection<Error>(
      importFile({ ...conn('inflight'), file, signal: controller.signal, onImport: (event) => event.stage === 'requested' && (tickets.push(event.requestId), controller.abort()) }),
    );
    expect(first.name).toBe('AbortError');
    const saved = JSON.parse(readFileSync(`${file}.import-state.json`, 'utf8'));
    expect(saved.parts).toEqual([expect.objectContaining({ requestId: tickets[0], uploaded: false, uploadUrl: expect.any(String) })]);

    const importsBefore = emulator.stats()['safetykit.import']?.requests ?? 0;
    const summary = await importFile({ ...conn('inflight'), file });
    expect(summary).toMatchObject({ requestIds: tickets, objects: 20_000, resumed: true, partsSkipped: 0 });
    expect(emulator.stats()['safetykit.import']?.requests ?? 0).toBe(importsBefore);
    const received = await emulator.safetykit.importedIds('inflight');
    expect(received.size).toBe(20_000);
    expect([...received.values()].every((times) => times === 1)).toBe(true);
    // Once confirmed, the upload URL is no longer kept.
    expect(JSON.parse(readFileSync(`${file}.import-state.json`, 'utf8')).parts[0].uploadUrl).toBeUndefined();
  });

  it('counts a part as uploaded when the service has its file though the run died before recording it', async () => {
    const file = write('landed.jsonl', `${lines(3000, 'landed').join('\n')}\n`);
    const done = await importFile({ ...conn('landed'), file, partBytes: 100_000 });
    // As if killed between the store's answer and the state save: the last part looks unconfirmed.
    const state = JSON.parse(readFileSync(`${file}.import-state.json`, 'utf8'));
    const last = state.parts.at(-1);
    Object.assign(last, { uploaded: false, uploadUrl: 'http://127.0.0.1:9/never-used', uploadExpiresAt: new Date(Date.now() + 3600_000).toISOString() });
    delete last.status;
    delete last.lines;
    delete last.objects;
    writeFileSync(`${file}.import-state.json`, JSON.stringify(state));
    const uploadsBefore = emulator.safetykit.uploads().length;
    const again = await importFile({ ...conn('landed'), file, partBytes: 100_000 });
    expect(again).toMatchObject({ requestIds: done.requestIds, objects: 3000, bytes: 0, statuses: { succeeded: done.requestIds.length } });
    expect(emulator.safetykit.uploads().length).toBe(uploadsBefore);
  });
});

describe('inference-streams import --in FILE', () => {
  async function run(args: string[], signal?: AbortSignal) {
    const cli = captureCli({ env: { SAFETYKIT_BASE_URL: emulator.url, SAFETYKIT_API_KEY: KEY, TMPDIR: spoolDir }, ...(signal ? { signal } : {}) });
    const code = await cli.run('import', ...args);
    return { code, out: cli.out(), err: cli.err() };
  }

  it('checks --results-out before uploading anything', async () => {
    const file = write('out-check.jsonl', `${lines(10, 'oc').join('\n')}\n`);
    const missing = await run(['--namespace', 'oc', '--in', file, '--results-out', '/missing/dir/x.jsonl']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--results-out /missing/dir/x.jsonl: directory /missing/dir does not exist');
    const directory = await run(['--namespace', 'oc', '--in', file, '--results-out', dir()]);
    expect(directory.code).toBe(2);
    expect(directory.err).toContain('is a directory');
    expect(emulator.stats()['safetykit.import']).toBeUndefined();
    expect(emulator.stats()['safetykit.upload']).toBeUndefined();
  });

  it('refuses --json when the outputs go to stdout, and --state with stdin', async () => {
    const file = write('json-stdout.jsonl', '{"id":"j"}\n');
    expect((await run(['--namespace', 'js', '--in', file, '--results-out', '-', '--json'])).code).toBe(2);
    const stdinState = await run(['--namespace', 'js', '--in', '-', '--state', join(dir(), 's.json')]);
    expect(stdinState.code).toBe(2);
    expect(stdinState.err).toContain('--state needs --in FILE');
    expect(emulator.stats()['safetykit.import']).toBeUndefined();
  });

  it('imports a file holding one JSON array (or {"data": [...]}) as JSONL lines, and names a bad element', async () => {
    const objects = Array.from({ length: 500 }, (_, i) => ({ id: `arr-${i}`, n: i }));
    const array = write('array.json', JSON.stringify(objects, null, 2));
    const plain = await run(['--namespace', 'arr', '--in', array, '--wait', '--poll-interval-ms', '5', '--json']);
    expect(plain.code, plain.err).toBe(0);
    expect(JSON.parse(plain.out)).toMatchObject({ objects: 500, statuses: { succeeded: 1 } });
    const wrapped = write('wrapped.json', JSON.stringify({ data: objects.map((o) => ({ ...o, id: `wrapped-${o.n}` })) }));
    expect((await run(['--namespace', 'arr', '--in', wrapped, '--wait', '--poll-interval-ms', '5'])).code).toBe(0);
    const received = await emulator.safetykit.importedIds('arr');
    expect(received.size).toBe(1000);
    expect([...received.values()].every((times) => times === 1)).toBe(true);

    const uploadsBefore = emulator.safetykit.uploads().length;
    const bad = write('bad-array.json', JSON.stringify([{ id: 'ok' }, { name: 'no id' }]));
    const refused = await run(['--namespace', 'arr', '--in', bad]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/bad-array\.json.*\[1\]|\[1\].*bad-array\.json/);
    expect(emulator.safetykit.uploads().length).toBe(uploadsBefore);
  });

  it('interrupted while waiting: prints the requestIds and objects already uploaded, and how to resume', async () => {
    const file = write('waitstop.jsonl', `${lines(3000, 'int').join('\n')}\n`);
    emulator.safetykit.setDelays({ queuedMs: 60_000 });
    const controller = new AbortController();
    const uploadsBefore = emulator.safetykit.uploads().length;
    const running = run(['--namespace', 'waitstop', '--in', file, '--part-bytes', '200000', '--wait', '--poll-interval-ms', '5'], controller.signal);
    while (emulator.safetykit.uploads().slice(uploadsBefore).filter((upload) => upload.status === 200).length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    const { code, err } = await running;
    emulator.safetykit.setDelays({ queuedMs: 5 });
    expect(code).toBe(130);
    const stored = emulator.safetykit.uploads().slice(uploadsBefore).filter((upload) => upload.status === 200);
    expect(err).toMatch(/uploaded before it: [\d,]+ objects in \d+ requests?: req_/);
    for (const upload of stored) expect(err).toContain(upload.requestId);
    expect(err).toContain(`run the same command again to resume (state in ${file}.import-state.json; uploaded parts are not sent again): inference-streams import --namespace waitstop --in ${file} --part-bytes 200000 --wait --poll-interval-ms 5\n`);
    expect(err.match(/interrupted/g)).toHaveLength(1);

    // And the same command again finishes the job without sending those parts again.
    const again = await run(['--namespace', 'waitstop', '--in', file, '--part-bytes', '200000', '--wait', '--poll-interval-ms', '5', '--json']);
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ objects: 3000, resumed: true, partsSkipped: stored.length });
    const received = await emulator.safetykit.importedIds('waitstop');
    expect(received.size).toBe(3000);
    expect([...received.values()].every((times) => times === 1)).toBe(true);
  });
});
