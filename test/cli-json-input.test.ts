/**
 * JSON-array input for `ingest` and `predict` (and the library's parseJsonArray → dataWriter),
 * against the emulator over loopback: element numbers in errors, null and non-object elements,
 * an element over the size limit, and an ingest that fails after some batches were accepted.
 */
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { dataWriter, importResults, parseJsonArray } from '../src/index.js';
import { doc, docs } from './reinfer-helpers.js';
import { captureCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';

let emulator: Emulator;
const dir = tempDir('cli-json-input-');
beforeAll(async () => {
  emulator = await startEmulator({ safetykit: { queuedMs: 1, ingestingMs: 1 } });
});
afterAll(async () => {
  await emulator.close();
});

const objects = (count: number, from = 0) => Array.from({ length: count }, (_, i) => ({ id: `obj-${from + i}`, text: `item ${from + i}` }));

async function file(name: string, text: string): Promise<string> {
  const path = join(dir(), name);
  await writeFile(path, text);
  return path;
}

async function ingest(args: string[], stdinText?: string) {
  const cli = captureCli({ env: emulator.env, stdinText });
  const code = await cli.run('ingest', '--no-progress', ...args);
  return { code, out: cli.out(), err: cli.err() };
}

/** The ids SafetyKit recorded for these add requests, in order. */
async function recordedIds(requestIds: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const requestId of requestIds) {
    for await (const output of importResults({ baseUrl: emulator.url, apiKey: emulator.env.SAFETYKIT_API_KEY, namespace: 'json', requestId, pollIntervalMs: 2 })) ids.push(output.id);
  }
  return ids;
}

describe('ingest --in a JSON array', () => {
  it('adds every element, the format decided from the first byte', async () => {
    const input = objects(250);
    const path = await file('items.json', `  \n${JSON.stringify(input, null, 2)}\n`);
    const { code, out, err } = await ingest(['--namespace', 'json', '--in', path, '--batch-size', '100', '--json']);
    expect(code, err).toBe(EXIT.ok);
    const summary = JSON.parse(out);
    expect(summary).toMatchObject({ command: 'ingest', format: 'json', objects: 250 });
    expect(summary.requests.map((r: { count: number }) => r.count)).toEqual([100, 100, 50]);
    expect((await recordedIds(summary.requestIds)).sort()).toEqual(input.map((o) => o.id).sort());
  });

  it('reads a JSON array on stdin, and {"data": [...]} from a file', async () => {
    const piped = await ingest(['--namespace', 'json', '--json'], JSON.stringify(objects(3)));
    expect(piped.code, piped.err).toBe(EXIT.ok);
    expect(JSON.parse(piped.out)).toMatchObject({ objects: 3, format: 'json' });
    const wrapped = await ingest(['--namespace', 'json', '--in', await file('wrapped.json', JSON.stringify({ data: objects(4) })), '--json']);
    expect(wrapped.code, wrapped.err).toBe(EXIT.ok);
    expect(JSON.parse(wrapped.out)).toMatchObject({ objects: 4, format: 'json' });
  });

  it('--input-format overrides the detection, and is checked', async () => {
    const path = await file('forced.json', JSON.stringify(objects(2)));
    const asJsonl = await ingest(['--namespace', 'json', '--in', path, '--input-format', 'jsonl']);
    expect(asJsonl.code).toBe(EXIT.failure);
    expect(asJsonl.err).toMatch(/forced\.json:1: an array is not an object/);
    const notArray = await ingest(['--namespace', 'json', '--in', await file('lines.jsonl', '{"id":"a"}\n'), '--input-format', 'json']);
    expect(notArray.err).toMatch(/lines\.jsonl:1: the document is an object without a "data" array \(expected a JSON array/);
    const bad = await ingest(['--namespace', 'json', '--in', path, '--input-format', 'xml']);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toMatch(/--input-format must be json or jsonl/);
  });

  const badElements: Array<[string, string, RegExp]> = [
    ['null', 'null', /bad\.json:5 element \[3\]: null is not an object/],
    ['a number', '42', /element \[3\]: a number is not an object/],
    ['a string', '"obj-3"', /element \[3\]: a string is not an object/],
    ['an array', '[{"id":"obj-3"}]', /element \[3\]: an array is not an object/],
    ['an object without an id', '{"text":"no id"}', /element \[3\]: it needs a non-empty string "id"/],
    ['invalid JSON', '{"id": "obj-3",}', /element \[3\]: /],
  ];
  for (const [name, element, message] of badElements) {
    it(`stops at ${name} as element [3], naming its index and line, after adding the elements before it`, async () => {
      const lines = objects(3).map((o) => JSON.stringify(o));
      const path = await file('bad.json', `[\n${lines.join(',\n')},\n${element},\n{"id":"obj-4"}\n]\n`);
      const { code, err } = await ingest(['--namespace', 'json', '--in', path]);
      expect(code).toBe(EXIT.failure);
      expect(err).toMatch(message);
      expect(err).toMatch(/every object before it was added to json: 3 objects in 1 request:/);
      const requestId = /^ {2}(\S+) {2}3 objects$/m.exec(err)?.[1];
      expect(requestId).toBeDefined();
      expect(await recordedIds([requestId!])).toEqual(['obj-0', 'obj-1', 'obj-2']);
    });
  }

  it('refuses an element larger than the 16 MiB limit without holding it', async () => {
    const huge = JSON.stringify({ id: 'huge', text: 'x'.repeat(17 * 1024 * 1024) });
    const path = await file('huge.json', `[{"id":"a"},${huge}]`);
    const { code, err } = await ingest(['--namespace', 'json', '--in', path]);
    expect(code).toBe(EXIT.failure);
    expect(err).toMatch(/huge\.json:1 element \[1\]: the element is larger than maxElementBytes \(16777216\)/);
  });

  it('failing after batches were accepted: prints their request ids and counts on stderr and in --json, exit 1', async () => {
    const lines = objects(250).map((o) => JSON.stringify(o));
    lines[230] = 'null';
    const path = await file('late.json', `[${lines.join(',\n')}]`);
    const { code, out, err } = await ingest(['--namespace', 'json', '--in', path, '--batch-size', '100', '--json']);
    expect(code).toBe(EXIT.failure);
    expect(err).toMatch(/late\.json:231 element \[230\]: null is not an object/);
    expect(err).toMatch(/every object before it was added to json: 230 objects in 3 requests:/);
    const listed = [...err.matchAll(/^ {2}(\S+) {2}(\d+) objects$/gm)].map((m) => ({ requestId: m[1], count: Number(m[2]) }));
    expect(listed.map((r) => r.count)).toEqual([100, 100, 30]);
    const summary = JSON.parse(out);
    expect(summary).toMatchObject({ command: 'ingest', ok: false, objects: 230, requestIds: listed.map((r) => r.requestId) });
    expect(summary.error).toMatchObject({ message: expect.stringMatching(/element \[230\]/), exitCode: EXIT.failure });
    expect(summary.requests).toEqual(listed);
    expect((await recordedIds(summary.requestIds)).sort()).toEqual(objects(230).map((o) => o.id).sort());
  });

  it('the same for a JSONL input: the bad line is named and the accepted requests listed', async () => {
    const lines = objects(150).map((o) => JSON.stringify(o));
    lines[120] = '{"id": 7}';
    const { code, err } = await ingest(['--namespace', 'json', '--batch-size', '50'], `${lines.join('\n')}\n`);
    expect(code).toBe(EXIT.failure);
    expect(err).toMatch(/stdin:121: it needs a non-empty string "id"/);
    expect([...err.matchAll(/^ {2}\S+ {2}(\d+) objects$/gm)].map((m) => Number(m[1]))).toEqual([50, 50, 20]);
  });

  it('--skip-invalid counts non-objects and id-less elements as skipped (null still stops the run)', async () => {
    const path = await file('skip.json', '[{"id":"a"}, 5, {"no":"id"}, {"id":"b"}]');
    const { code, out, err } = await ingest(['--namespace', 'json', '--in', path, '--skip-invalid', '--json']);
    expect(code, err).toBe(EXIT.ok);
    expect(JSON.parse(out)).toMatchObject({ objects: 2, skipped: 2 });
  });
});

describe('parseJsonArray into dataWriter (the library path)', () => {
  it('adds a JSON array file element by element', async () => {
    const input = objects(120);
    const path = await file('api.json', JSON.stringify(input));
    const writer = dataWriter({ baseUrl: emulator.url, apiKey: emulator.env.SAFETYKIT_API_KEY, namespace: 'json', batchSize: 50 });
    await pipeline(createReadStream(path), parseJsonArray({ source: 'api.json' }), writer);
    expect(writer.summary!.objects).toBe(120);
    expect((await recordedIds(writer.summary!.requestIds)).sort()).toEqual(input.map((o) => o.id).sort());
  });
});

describe('predict --in a JSON array', () => {
  function predict(args: string[], stdinText?: string) {
    const cli = captureCli({ env: emulator.env, stdinText });
    return cli.run('predict', '--project', 'acme', '--dataset', 'emails', '--no-progress', ...args).then((code) => ({ code, out: cli.out(), err: cli.err() }));
  }
  const lines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l));

  it('predicts every element, in order', async () => {
    const path = await file('docs.json', JSON.stringify(docs(12), null, 2));
    const { code, out, err } = await predict(['--in', path, '--batch-size', '5']);
    expect(code, err).toBe(EXIT.ok);
    expect(lines(out).map((o) => o.input.id)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('reads uids given as a JSON array of strings', async () => {
    const uids = emulator.reinfer.commentUids(3);
    const { code, out, err } = await predict(['--uids'], JSON.stringify(uids));
    expect(code, err).toBe(EXIT.ok);
    expect(lines(out).map((o) => o.uid)).toEqual(uids);
  });

  it('names the element of a null, and --skip-invalid turns a non-document into an error line', async () => {
    const nulled = await predict([], `[${JSON.stringify(doc(0))}, null]`);
    expect(nulled.code).toBe(EXIT.failure);
    expect(nulled.err).toMatch(/stdin:1 element \[1\]: null is not allowed/);
    const skipped = await predict(['--skip-invalid'], `[${JSON.stringify(doc(0))}, 5, ${JSON.stringify(doc(2))}]`);
    expect(skipped.code, skipped.err).toBe(EXIT.ok);
    const out = lines(skipped.out);
    expect(out).toHaveLength(3);
    expect(out[1]).toMatchObject({ input: 5, index: 1 });
  });

  it('checks --out before sending anything', async () => {
    const before = emulator.reinfer.requests().length;
    const { code, err } = await predict(['--in', await file('few.json', JSON.stringify(docs(3))), '--out', join(dir(), 'missing', 'dir', 'out.jsonl')]);
    expect(code).toBe(EXIT.failure);
    expect(err).toMatch(/ENOENT/);
    expect(emulator.reinfer.requests().length).toBe(before);
  });
});
