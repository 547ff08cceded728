/**
 * The worker check of importFile() (range-check.ts) against the main thread's full check
 * (objectLineCheck / LineScan, the path every other import takes): line by line on a table of
 * hostile lines and on seeded random ones, and whole files read by the worker itself in tiny
 * chunks (lines cut across reads, the buffer grown for long lines).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonlError } from '../src/core/errors.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { importFile } from '../src/safetykit/index.js';
import { LineScan } from '../src/safetykit/file-body.js';
import { objectLineCheck } from '../src/safetykit/line-check.js';
import { isIdObjectLine } from '../src/safetykit/id-object-bytes.js';
import { JUDGE_DEPS, judgeLines, RangeChecker, type LineTally } from '../src/safetykit/range-check.js';
import { FIRST_SPECIAL_WASM, firstSpecialReference, wasmSimd, type WasmApi } from '../src/safetykit/special-bytes.js';
import { hostileRecordTexts } from './helpers/hostile-page.js';
import { rejection } from './helpers/rejection.js';
import { tempDir } from './helpers/temp-dir.js';

const MAX_LINE = 4096;
const dir = tempDir('sk-range-check-');

/** The full check's word on one line: 'object', 'blank' or 'bad'. */
function fullVerdict(line: Buffer): string {
  const bytes = Buffer.concat([line, Buffer.from('\n')]);
  try {
    return objectLineCheck(MAX_LINE, 'test')(bytes, 0, line.length, 7) ? 'object' : 'blank';
  } catch {
    return 'bad';
  }
}

/** The worker's judge on the same line (inside a larger buffer, as it sees lines). */
function judgedVerdict(line: Buffer): string {
  const bytes = Buffer.concat([Buffer.from('{"id":"before"}\n'), line, Buffer.from('\n{"id":"after"}\n')]);
  const out: LineTally = { lines: 0, objects: 0, bad: -1, badStart: -1, tooLong: false };
  judgeLines(bytes, 0, bytes.length, MAX_LINE, JUDGE_DEPS, out);
  if (out.bad >= 0) {
    expect(out.bad).toBe(1);
    expect(out.badStart).toBe(16);
    return 'bad';
  }
  expect(out.lines).toBe(3);
  return out.objects === 3 ? 'object' : 'blank';
}

const text = (s: string) => Buffer.from(s);
const deep = (n: number) => `{"id":"d","v":${'['.repeat(n)}${']'.repeat(n)}}`;

/** Lines the import must refuse or accept exactly as the full check does. */
const HOSTILE_LINES: Buffer[] = [
  ...[
    '{"id":"a"}',
    '{"id":"a"}\r',
    ' \t{"id" : "a" }\r',
    '',
    '   ',
    '\r',
    ' \t \r',
    '{"id":""}',
    '{"id":5}',
    '{"id":null}',
    '{"id":["a"]}',
    '{"x":"a"}',
    '{"nested":{"id":"a"}}',
    '{"id":"a","id":5}',
    '{"id":5,"id":"a"}',
    '{"id":"a","id":""}',
    '{"\\u0069d":"a"}',
    '{"id":"a","\\u0069d":5}',
    '{"id":"\\u00e9\\n\\"\\\\\\/\\b\\f\\r\\t"}',
    '{"id":"a\\x"}',
    '{"id":"a\\u12g4"}',
    '{"id":"a\tb"}',
    '{"id":"a\u0000b"}',
    '{"id":"a\u001fb"}',
    '{"id":"a\u007fb"}',
    '{"id":"\ud83d\ude00 é ✓"}',
    '{"id":"\\ud800"}',
    '{"id":"a"}{"id":"b"}',
    '{"id":"a"} x',
    '{"id":"a",}',
    '{"id":"a"',
    '["id","a"]',
    '"id"',
    'null',
    '5',
    '{}',
    '\uFEFF{"id":"a"}',
    '{"id":"a"}\uFEFF',
    '{"id":"a","x":\u00a0 1}',
    '\u00a0{"id":"a"}',
    '{"id":"a","__proto__":{"id":5}}',
    '{"__proto__":{"id":"a"}}',
    '{"id":"a","n":1e400,"m":-0}',
    deep(31),
    deep(32),
    deep(999),
    deep(1000),
    deep(1001),
    `{"id":"long","v":"${'x'.repeat(MAX_LINE - 30)}"}`,
    `{"id":"long","v":"${'x'.repeat(MAX_LINE)}"}`,
  ].map(text),
  // Invalid UTF-8: a stray continuation byte, a truncated sequence, an overlong encoding, a surrogate, a lone 0xff.
  ...[[0x80], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xf4, 0x90, 0x80, 0x80]].flatMap((bad) => [
    Buffer.concat([text('{"id":"a'), Buffer.from(bad), text('"}')]),
    Buffer.concat([text('{"id":"a","v":"'), Buffer.from(bad), text('"}')]),
    Buffer.concat([text('{"id":"a"}'), Buffer.from(bad)]),
  ]),
  // The hostile page's records (NUL, lone surrogates, __proto__ ...), with and without an id.
  ...hostileRecordTexts().flatMap((record) => [text(record), text(record.replace('{', '{"id":"h",')), text(record.replace('{', '{"id":"",'))]),
];

/** A seeded generator (the same lines on every run). */
function generator(seed: number): (n: number) => number {
  return (n) => {
    // Math.imul: a product beyond 2^53 would lose the low bits the modulo reads.
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return (seed >>> 8) % n;
  };
}

/** Random lines: good ones mutated by inserting, deleting or replacing pieces that matter to JSON, UTF-8 and the id. */
function randomLines(count: number, seed: number): Buffer[] {
  const random = generator(seed);
  const seeds = ['{"id":"x","a":[1,{"b":"c"}],"d":{"e":[true,null]}}', '{"id":"listing-1","title":"Listing 1: bike","price":12.5,"tags":["a","b"],"description":"vintage sofa camera"}', '{"x":1,"id":"é✓"}', '  {"id" : "s" , "v" : -0.5e-3 }\r', ' \t', ''];
  const pieces = ['{', '}', '[', ']', '"', ':', ',', '\\', 'u', '0', '1', '-', '.', 'e', '+', ' ', '\t', '\r', 't', 'n', 'f', 'a', 'id', '"id"', '\u0001', '\u0000', 'é', '\uFEFF', '\\u0069', '\\"', '\\\\'];
  const rawBytes = [0x80, 0xc3, 0xff, 0xed, 0xa0];
  const lines: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    let line = Buffer.from(seeds[random(seeds.length)]);
    for (let edits = random(4); edits > 0; edits--) {
      const at = random(line.length + 1);
      const kind = random(4);
      const piece = random(10) === 0 ? Buffer.from([rawBytes[random(rawBytes.length)]]) : Buffer.from(pieces[random(pieces.length)]);
      if (kind === 0) line = Buffer.concat([line.subarray(0, at), piece, line.subarray(at)]);
      else if (kind === 1) line = Buffer.concat([line.subarray(0, at), line.subarray(at + 1)]);
      else if (kind === 2) line = Buffer.concat([line.subarray(0, at), piece, line.subarray(at + 1)]);
    }
    lines.push(line);
  }
  return lines;
}

describe('judgeLines (the worker check) against the full check', () => {
  it('decides every hostile line as the full check does', () => {
    for (const line of HOSTILE_LINES) expect(judgedVerdict(line), JSON.stringify(line.toString('latin1'))).toBe(fullVerdict(line));
  });

  it('decides thousands of seeded random lines as the full check does', () => {
    const seen = { object: 0, blank: 0, bad: 0 } as Record<string, number>;
    for (const line of randomLines(20_000, 4242)) {
      const verdict = fullVerdict(line);
      seen[verdict]++;
      expect(judgedVerdict(line), JSON.stringify(line.toString('latin1'))).toBe(verdict);
    }
    // The generator reaches every kind of verdict.
    expect(seen).toEqual({ object: expect.any(Number), blank: expect.any(Number), bad: expect.any(Number) });
    expect(Math.min(seen.object, seen.bad)).toBeGreaterThan(4000);
    expect(seen.blank).toBeGreaterThan(0);
  });
});

describe('skipping strings whole where no special byte is (special-bytes.ts)', () => {
  it('the WebAssembly firstSpecial finds the same byte as the JavaScript one', () => {
    expect(wasmSimd()).toBe(true);
    const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const { f, m } = new api.Instance(new api.Module(FIRST_SPECIAL_WASM)).exports;
    m.grow(1);
    const memory = new Uint8Array(m.buffer);
    const random = generator(5);
    for (let round = 0; round < 20_000; round++) {
      const from = random(40);
      const to = from + random(120);
      // Mostly printable text; now and then any byte (control characters, backslash, newline, >= 0x80).
      for (let i = 0; i < to + 32; i++) memory[i] = random(40) === 0 ? random(256) : 0x20 + random(0x5f);
      expect(f(from, to)).toBe(firstSpecialReference(memory, from, to));
    }
  });

  it('isIdObjectLine decides every line the same with the skip as byte by byte', () => {
    for (const line of [...HOSTILE_LINES, ...randomLines(20_000, 77)]) {
      const bytes = Buffer.concat([Buffer.from('{"id":"x"}\n'), line, Buffer.from('\n')]);
      const start = 11;
      const end = bytes.length - 1;
      const clean = firstSpecialReference(bytes, start, bytes.length);
      expect(isIdObjectLine(bytes, start, end, clean), JSON.stringify(line.toString('latin1'))).toBe(isIdObjectLine(bytes, start, end));
    }
  });
});

describe('RangeChecker (the worker reads the file itself) against LineScan', () => {
  const checkers: RangeChecker[] = [];
  afterAll(() => checkers.forEach((checker) => checker.close()));

  /** What the main thread's LineScan says of `bytes[start, end)`: counts, or the first bad line's number (1-based in the range). */
  async function reference(bytes: Buffer, start: number, end: number): Promise<{ lines: number; objects: number } | { badLine: number }> {
    const scan = new LineScan(1, objectLineCheck(MAX_LINE, 'test'), MAX_LINE, 'test');
    try {
      for (let at = start; at < end; at += 1000) await scan.feed(bytes.subarray(at, Math.min(end, at + 1000)));
      await scan.finish();
      return { lines: scan.lines, objects: scan.objects };
    } catch (error) {
      return { badLine: (error as { line: number }).line };
    } finally {
      scan.close();
    }
  }

  async function compare(name: string, lines: Buffer[], options: { chunkBytes: number; trailingNewline?: boolean; from?: number; wasm?: boolean }): Promise<string> {
    const bytes = Buffer.concat(lines.flatMap((line, i) => (i < lines.length - 1 || options.trailingNewline !== false ? [line, Buffer.from('\n')] : [line])));
    const path = join(dir(), `${name}.jsonl`);
    writeFileSync(path, bytes);
    // A range that starts after the first lines, as a later part does.
    const start = options.from === undefined ? 0 : lines.slice(0, options.from).reduce((sum, line) => sum + line.length + 1, 0);
    const checker = new RangeChecker({ chunkBytes: options.chunkBytes, wasm: options.wasm });
    checkers.push(checker);
    const verdict = await checker.check(path, start, bytes.length, MAX_LINE);
    const expected = await reference(bytes, start, bytes.length);
    if ('badLine' in expected) {
      expect(verdict.bad, name).toBeDefined();
      expect(verdict.bad!.index + 1, name).toBe(expected.badLine);
      // The offset points at the start of that line.
      const lineStart = lines.slice(0, (options.from ?? 0) + verdict.bad!.index).reduce((sum, line) => sum + line.length + 1, 0);
      expect(verdict.bad!.offset, name).toBe(lineStart);
      return 'bad';
    }
    expect(verdict, name).toEqual(expected);
    return 'good';
  }

  it('gives the counts or the first bad line of LineScan, whatever the read size', async () => {
    const random = generator(99);
    const good = randomLines(4000, 7).filter((line) => fullVerdict(line) !== 'bad');
    const bad = HOSTILE_LINES.filter((line) => fullVerdict(line) === 'bad');
    const outcomes: string[] = [];
    for (let round = 0; round < 24; round++) {
      const lines = good.slice(random(1000), 1000 + random(2000));
      // Most files get one or two bad lines somewhere (or at the very end); some none.
      for (let k = random(3); k > 0; k--) lines.splice(random(lines.length + 1), 0, bad[random(bad.length)]);
      const chunkBytes = [16, 64, 1000, 65_536][round % 4];
      // Both ways of finding special bytes: WebAssembly (the default) and JavaScript.
      outcomes.push(await compare(`random-${round}`, lines, { chunkBytes, trailingNewline: round % 3 !== 0, from: round % 5 === 0 ? 3 : undefined, wasm: round % 2 === 0 }));
    }
    expect(outcomes).toContain('good');
    expect(outcomes).toContain('bad');
  });

  it('grows its buffer for long lines, and refuses a line longer than maxLineBytes by its place', async () => {
    const long = (n: number) => Buffer.from(`{"id":"l","v":"${'y'.repeat(n)}"}`);
    expect(await compare('long-lines', [long(10), long(3000), long(MAX_LINE - 30), long(5)], { chunkBytes: 16 })).toBe('good');
    const checker = new RangeChecker({ chunkBytes: 16 });
    checkers.push(checker);
    const path = join(dir(), 'too-long.jsonl');
    writeFileSync(path, Buffer.concat([long(10), Buffer.from('\n'), long(MAX_LINE * 3), Buffer.from('\n'), long(10)]));
    const verdict = await checker.check(path, 0, long(10).length + 1 + long(MAX_LINE * 3).length + 1 + long(10).length, MAX_LINE);
    expect(verdict.bad).toEqual({ index: 1, offset: long(10).length + 1, tooLong: true });
  });

  it('says so (a rejection, for the caller to check the part itself) when it cannot read the file', async () => {
    const checker = new RangeChecker();
    checkers.push(checker);
    await expect(checker.check(join(dir(), 'missing.jsonl'), 0, 100, MAX_LINE)).rejects.toThrow(/ENOENT/);
    const path = join(dir(), 'short.jsonl');
    writeFileSync(path, '{"id":"a"}\n');
    await expect(checker.check(path, 0, 100, MAX_LINE)).rejects.toThrow(/changed during the import/);
  });
});

describe('importFile with the worker check, over HTTP to the emulator', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ safetykit: { queuedMs: 5, ingestingMs: 10 } });
  });
  afterAll(async () => {
    await emulator.close();
  });
  const conn = (namespace: string) => ({ baseUrl: emulator.url, apiKey: 'sk-test-range-check-0123456789', namespace, spoolDir: dir(), retry: { baseDelayMs: 1, maxDelayMs: 20 }, pollIntervalMs: 5, maxPollIntervalMs: 20 });
  // ~120 B a line: 60 000 lines make ~7 MB, parts of 2 MB (each bigger than the 1 MiB checked before its request: all go to the worker).
  const lines = (count: number) => Array.from({ length: count }, (_, i) => JSON.stringify({ id: `r-${i}`, text: `line ${i} ${'é'.repeat(i % 7)} \\ "quoted" ${'w'.repeat(60)}` }));

  it('counts every object of every part, and names a bad line of a later part by its line in the file', async () => {
    const good = join(dir(), 'parts-good.jsonl');
    const all = lines(60_000);
    writeFileSync(good, `${all.join('\n')}\n`);
    const summary = await importFile({ ...conn('rc-good'), file: good, partBytes: 2_000_000 });
    expect(summary.requestIds.length).toBeGreaterThan(2);
    expect(summary.objects).toBe(60_000);
    expect((await emulator.safetykit.importedIds('rc-good')).size).toBe(60_000);

    // A control character inside a string, on line 50 001 (in a later part): the parts before it are uploaded, its part is not.
    all[50_000] = all[50_000].replace('line', 'li\u0001ne');
    const bad = join(dir(), 'parts-bad.jsonl');
    writeFileSync(bad, `${all.join('\n')}\n`);
    const uploads: Array<{ part: number; bytes: number }> = [];
    const error = await rejection<JsonlError>(importFile({ ...conn('rc-bad'), file: bad, partBytes: 2_000_000, wait: false, onImport: (event) => event.stage === 'uploaded' && uploads.push(event) }));
    expect(error).toBeInstanceOf(JsonlError);
    expect(error.line).toBe(50_001);
    expect(error.message).toContain(`${bad}:50001`);
    const imported = uploads.reduce((sum, upload) => sum + upload.bytes, 0);
    expect(imported).toBeLessThan(Buffer.byteLength(all.slice(0, 50_000).join('\n')) + 1);
    expect(uploads.length).toBeGreaterThan(1);
    expect(imported).toBeGreaterThan(Buffer.byteLength(all.slice(0, 50_000).join('\n')) - 2_000_000);
  });
});
