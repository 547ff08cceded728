/** parseJsonArray: elements one by one, element numbers in errors, the same checks as parseJsonl. */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { parseJsonArray, type ParseJsonArrayOptions } from '../src/core/json-array.js';
import { decideShape, sniffJsonInput } from '../src/core/json-input.js';
import { parseJsonl } from '../src/core/jsonl.js';
import { JsonArrayError, JsonlError } from '../src/core/errors.js';
import { JsonArrayError as PublicJsonArrayError, parseJsonArray as publicParseJsonArray } from '../src/index.js';
import { rejection } from './helpers/rejection.js';

/** Feed `chunks` (split exactly as given) through a parser; collect what it emits and how it ended. */
async function run(chunks: Array<string | Buffer>, options?: ParseJsonArrayOptions): Promise<{ items: unknown[]; error?: JsonArrayError }> {
  const items: unknown[] = [];
  try {
    await pipeline(
      Readable.from(chunks, { objectMode: false }),
      parseJsonArray(options),
      new Writable({ objectMode: true, write: (item, _e, cb) => (items.push(item), cb()) }),
    );
    return { items };
  } catch (error) {
    return { items, error: error as JsonArrayError };
  }
}

/** Split `text` into chunks at every `step` bytes (so boundaries fall inside strings, escapes and numbers). */
function splitEvery(text: string, step: number): Buffer[] {
  const bytes = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += step) chunks.push(bytes.subarray(i, i + step));
  return chunks;
}

describe('parseJsonArray', () => {
  const values = [
    { id: 'a', text: 'plain' },
    { id: 'b', text: 'quotes " and \\ backslashes \\\\" and \\"', nested: { list: [1, [2, [3]], { x: '}]' }] } },
    { id: 'c', unicode: 'é中😀', escapes: '\u0001\n\t', empty: {}, none: [], n: -1.5e-3, t: true, f: false, z: null },
    { id: 'd', 'key with "quotes"': '[{,:}]' },
  ];
  const documents = [
    JSON.stringify(values),
    JSON.stringify(values, null, 2),
    `\uFEFF \r\n${JSON.stringify(values, null, '\t')}\n\n`,
  ];

  it('emits every element, equal to JSON.parse of the whole, whatever the chunk boundaries', async () => {
    for (const document of documents) {
      for (const step of [1, 2, 3, 7, 64, 1 << 20]) {
        const { items, error } = await run(splitEvery(document, step));
        expect(error, `step ${step}`).toBeUndefined();
        expect(items).toEqual(values);
      }
    }
  });

  it('is exported from the package entry, beside parseJsonl', () => {
    expect(publicParseJsonArray).toBe(parseJsonArray);
    expect(PublicJsonArrayError).toBe(JsonArrayError);
  });

  it('accepts an empty array and strings as input chunks', async () => {
    expect(await run([' [ ] '])).toEqual({ items: [] });
    expect((await run(['[{"id":', '"x"}]'])).items).toEqual([{ id: 'x' }]);
  });

  it('names the element index and line of an element that is not JSON', async () => {
    const document = '[\n{"id":"a"},\n{"id":"b"},\n{"id": tru}\n]';
    const { items, error } = await run([document], { source: 'items.json' });
    expect(items).toHaveLength(2);
    expect(error).toBeInstanceOf(JsonArrayError);
    expect(error).toBeInstanceOf(JsonlError);
    expect(error!.index).toBe(2);
    expect(error!.line).toBe(4);
    expect(error!.message).toMatch(/^Bad JSON array at items\.json:4 element \[2\]: /);
  });

  it('gives the line inside a multi-line element where JSON.parse stopped', async () => {
    const { error } = await run(['[\n  {\n    "id": "a"\n    "x": 1\n  }\n]']);
    expect(error!.index).toBe(0);
    expect(error!.line).toBe(4);
  });

  it('refuses a null element before emitting it, instead of ending the stream', async () => {
    const { items, error } = await run(['[{"id":"a"}, null, {"id":"b"}]']);
    expect(items).toEqual([{ id: 'a' }]);
    expect(error!.index).toBe(1);
    expect(error!.message).toMatch(/element \[1\]: null is not an object/);
    // Even when non-objects are allowed, null cannot travel through a stream.
    const loose = await run(['[1, "two", null]'], { objectsOnly: false });
    expect(loose.items).toEqual([1, 'two']);
    expect(loose.error!.index).toBe(2);
  });

  it('refuses numbers, strings, booleans and arrays unless objectsOnly is false', async () => {
    for (const [element, type] of [['5', 'a number'], ['"s"', 'a string'], ['true', 'a boolean'], ['[{"id":"x"}]', 'an array']]) {
      const { items, error } = await run([`[{"id":"a"},\n${element},{"id":"b"}]`]);
      expect(items).toEqual([{ id: 'a' }]);
      expect(error!.index).toBe(1);
      expect(error!.line).toBe(2);
      expect(error!.message).toContain(`${type} is not an object`);
    }
    expect((await run(['[5, "s", true, [1], {"a":1}, -2.5e3]'], { objectsOnly: false })).items).toEqual([5, 's', true, [1], { a: 1 }, -2500]);
  });

  it('fails an element larger than maxElementBytes without holding it whole', async () => {
    // A 64 MiB string element arriving in 1 MiB chunks against a 1 MiB limit.
    const chunk = Buffer.alloc(1 << 20, 'x');
    async function* huge() {
      yield Buffer.from('[{"id":"a"},{"id":"b","text":"');
      for (let i = 0; i < 64; i++) yield chunk;
      yield Buffer.from('"}]');
    }
    const items: unknown[] = [];
    const error = await rejection<JsonArrayError>(
      pipeline(Readable.from(huge(), { objectMode: false }), parseJsonArray({ maxElementBytes: 1 << 20 }), new Writable({ objectMode: true, write: (item, _e, cb) => (items.push(item), cb()) })),
    );
    expect(error).toBeInstanceOf(JsonArrayError);
    expect(error.index).toBe(1);
    expect(error.message).toMatch(/element \[1\]: the element is larger than maxElementBytes \(1048576\)/);
    expect(items).toEqual([{ id: 'a' }]);
  });

  it('delivers every element before a bad one, even from the same chunk, then the error', async () => {
    const good = Array.from({ length: 3000 }, (_, i) => ({ id: `obj-${i}` }));
    const document = `[${good.map((o) => JSON.stringify(o)).join(',')},null,{"id":"after"}]`;
    for (const consume of ['for await', 'pipe'] as const) {
      const items: unknown[] = [];
      let error: JsonArrayError | undefined;
      const parser = parseJsonArray();
      Readable.from([Buffer.from(document)], { objectMode: false }).pipe(parser);
      try {
        if (consume === 'for await') {
          for await (const item of parser) items.push(item);
        } else {
          await pipeline(parser, new Writable({ objectMode: true, highWaterMark: 1, write: (item, _e, cb) => (items.push(item), setImmediate(cb)) }));
        }
      } catch (caught) {
        error = caught as JsonArrayError;
      }
      expect(error?.index, consume).toBe(3000);
      expect(items, consume).toEqual(good);
    }
  });

  it('holds backpressure inside a chunk: one 1 MiB chunk of thousands of elements is not buffered whole', async () => {
    const elements = Array.from({ length: 20_000 }, (_, i) => ({ id: `obj-${i}`, text: 'x'.repeat(30) }));
    const parser = parseJsonArray();
    let most = 0;
    let count = 0;
    await pipeline(
      Readable.from([Buffer.from(JSON.stringify(elements))], { objectMode: false }),
      parser,
      new Writable({ objectMode: true, highWaterMark: 1, write: (_item, _e, cb) => ((most = Math.max(most, parser.readableLength)), count++, setImmediate(cb)) }),
    );
    expect(count).toBe(20_000);
    expect(most).toBeLessThanOrEqual(parser.readableHighWaterMark);
  });

  it('keeps going across many chunks with a consumer that waits now and then (no stall when a chunk ends while paused)', async () => {
    const elements = Array.from({ length: 30_000 }, (_, i) => ({ id: `obj-${i}`, text: 'y'.repeat(i % 97) }));
    let count = 0;
    await pipeline(
      Readable.from(splitEvery(JSON.stringify(elements), 65_536), { objectMode: false }),
      parseJsonArray(),
      new Writable({ objectMode: true, highWaterMark: 16, write: (_item, _e, cb) => (++count % 500 === 0 ? setTimeout(cb, 1) : cb()) }),
    );
    expect(count).toBe(30_000);
  });

  it('runs a validate check on each element, naming it', async () => {
    const { items, error } = await run(['[{"id":"a"},{"name":"no id"}]'], { validate: (v) => (typeof (v as { id?: unknown }).id === 'string' ? undefined : 'it needs a string "id"') });
    expect(items).toEqual([{ id: 'a' }]);
    expect(error!.message).toMatch(/element \[1\]: it needs a string "id"/);
  });

  it('refuses malformed and unterminated arrays', async () => {
    const cases: Array<[string, RegExp]> = [
      ['', /the input is empty/],
      ['{"id":"a"}', /expected a JSON array/],
      ['[{"id":"a"} {"id":"b"}]', /expected "," or "\]" after element \[0\]/],
      ['[{"id":"a"},]', /trailing commas/],
      ['[,{"id":"a"}]', /expected a value/],
      ['[{"id":"a"}', /the input ended after element \[0\].*cut short/],
      ['[{"id":"a"},{"id":"b', /the input ended after element \[0\]/],
      ['[{"id":"a"}] x', /unexpected text after the end of the array/],
      ['[{"id":"a"}][]', /unexpected text after the end of the array/],
      ['[{"id":"a"]', /element \[0\]/],
      ['[{"id":"a\\"}]', /the input ended/],
    ];
    for (const [document, message] of cases) {
      const { error } = await run([document]);
      expect(error, document).toBeInstanceOf(JsonArrayError);
      expect(error!.message, document).toMatch(message);
    }
  });

  it('reads the array under path, checking and skipping the other keys', async () => {
    const document = '{"status": "ok", "meta": {"n": [1, {"data": []}]}, "data": [{"id":"a"},{"id":"b"}], "count": 2}';
    for (const step of [1, 5, 1000]) {
      const { items, error } = await run(splitEvery(document, step), { path: 'data' });
      expect(error).toBeUndefined();
      expect(items).toEqual([{ id: 'a' }, { id: 'b' }]);
    }
    expect((await run(['{"other": []}'], { path: 'data' })).error!.message).toMatch(/without a "data" array/);
    expect((await run(['{"data": {}}'], { path: 'data' })).error!.message).toMatch(/"data" is not an array/);
    expect((await run(['{"data": [], "data": []}'], { path: 'data' })).error!.message).toMatch(/"data" twice/);
    expect((await run(['[{"id":"a"}]'], { path: 'data' })).error!.message).toMatch(/expected an object with a "data" array/);
    expect((await run(['{"data": [null]}'], { path: 'data' })).error!.index).toBe(0);
  });

  it('checks its options', () => {
    expect(() => parseJsonArray({ maxElementBytes: 0 })).toThrow(/maxElementBytes/);
    expect(() => parseJsonArray({ objectsOnly: 'yes' as unknown as boolean })).toThrow(/objectsOnly/);
    expect(() => parseJsonArray({ validate: 5 as unknown as () => undefined })).toThrow(/validate/);
  });

  it('matches JSON.parse on random documents split at random places', async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const strings = ['', 'a', '\\', '"', '\\"', 'é', '中', '😀', '}', ']', ',', ' ', '\n', '\u2028'];
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.3) return [1, -0.5, 1e21, true, false, null][Math.floor(random() * 6)];
      if (r < 0.6) return Array.from({ length: 3 }, () => strings[Math.floor(random() * strings.length)]).join('');
      if (r < 0.8) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, (_, k) => [`${strings[Math.floor(random() * strings.length)]}${k}`, value(depth + 1)]));
    };
    for (let round = 0; round < 40; round++) {
      const elements = Array.from({ length: 20 }, (_, i) => ({ i, v: value(0) }));
      const document = JSON.stringify(elements, null, round % 2 ? 1 : undefined);
      const bytes = Buffer.from(document);
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(random() * 40);
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      const { items, error } = await run(chunks);
      expect(error).toBeUndefined();
      expect(items).toEqual(JSON.parse(document));
    }
  });
});

describe('parseJsonl and null', () => {
  it('delivers every line before a bad one, then the error', async () => {
    const good = Array.from({ length: 3000 }, (_, i) => ({ id: `obj-${i}` }));
    const items: unknown[] = [];
    const parser = parseJsonl();
    Readable.from([`${good.map((o) => JSON.stringify(o)).join('\n')}\n{bad\n{"id":"after"}\n`]).pipe(parser);
    const error = await rejection<JsonlError>((async () => { for await (const item of parser) items.push(item); })());
    expect(error.line).toBe(3001);
    expect(items).toEqual(good);
  });

  it('fails on a null line instead of ending the stream there', async () => {
    const items: unknown[] = [];
    const error = await rejection<JsonlError>(
      pipeline(Readable.from(['{"id":"a"}\nnull\n{"id":"b"}\n']), parseJsonl({ source: 'x.jsonl' }), new Writable({ objectMode: true, write: (item, _e, cb) => (items.push(item), cb()) })),
    );
    expect(error).toBeInstanceOf(JsonlError);
    expect(error.line).toBe(2);
    expect(error.message).toMatch(/x\.jsonl:2: null/);
    expect(items).toEqual([{ id: 'a' }]);
  });
});

describe('sniffJsonInput', () => {
  it('decides from the first bytes: [ is an array, {"data": [ the wrapper, anything else JSONL', () => {
    expect(decideShape(Buffer.from('  \n[{"id":1}]'))).toBe('array');
    expect(decideShape(Buffer.from('\uFEFF{ "data" : [ '))).toBe('data-array');
    expect(decideShape(Buffer.from('{"id":"a","data":[1]}\n'))).toBe('jsonl');
    expect(decideShape(Buffer.from('{"data": 5}'))).toBe('jsonl');
    expect(decideShape(Buffer.from('{"dat'))).toBeUndefined();
    expect(decideShape(Buffer.from('{"dat'), true)).toBe('jsonl');
    expect(decideShape(Buffer.from('   '))).toBeUndefined();
    expect(decideShape(Buffer.from('"uid.1"\n'))).toBe('jsonl');
  });

  it('reads a byte at a time until it can decide, then replays every byte', async () => {
    const text = '  {  "data"  :\n [{"id":"a"}]}';
    const { shape, bytes } = await sniffJsonInput(Readable.from(splitEvery(text, 1), { objectMode: false }));
    expect(shape).toBe('data-array');
    let replayed = '';
    for await (const chunk of bytes) replayed += chunk;
    expect(replayed).toBe(text);
    const empty = await sniffJsonInput(Readable.from([], { objectMode: false }));
    expect(empty.shape).toBe('jsonl');
  });
});
