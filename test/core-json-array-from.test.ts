/** parseJsonArray's `from` option and readJsonArrayFrom: a JSON array read on from a saved element boundary. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseJsonArray, type ArrayPosition } from '../src/core/json-array.js';
import { describe, expect, it } from 'vitest';
import { readJsonArrayFrom } from '../src/core/json-array-from.js';
import { JsonArrayError } from '../src/core/errors.js';
import { PositionedText } from '../src/core/jsonl-positions.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('json-array-from-');

async function file(name: string, text: string): Promise<string> {
  const path = join(dir(), name);
  await writeFile(path, text);
  return path;
}

async function readAll(path: string, options: Parameters<typeof readJsonArrayFrom>[1] = {}): Promise<{ items: PositionedText[]; error?: JsonArrayError }> {
  const items: PositionedText[] = [];
  try {
    for await (const item of readJsonArrayFrom(path, options)) items.push(item);
    return { items };
  } catch (error) {
    return { items, error: error as JsonArrayError };
  }
}

const pretty = JSON.stringify(
  Array.from({ length: 7 }, (_, i) => ({ id: i, text: `doc ${i} "quoted" ]},[`, nested: { list: [i, [i + 1]] } })),
  null,
  2,
);

describe('readJsonArrayFrom', () => {
  it('gives each element the byte offset, line and index after it; a read from any boundary gives the rest', async () => {
    const path = await file('pretty.json', `\uFEFF${pretty}\n`);
    const bytes = Buffer.from(`\uFEFF${pretty}\n`);
    const { items, error } = await readAll(path);
    expect(error).toBeUndefined();
    expect(items.map((item) => (item.value as { id: number }).id)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const [k, item] of items.entries()) {
      expect(item).toBeInstanceOf(PositionedText);
      expect(item.after.index).toBe(k + 1);
      // The offset is just after the element's closing brace, on the line that holds it.
      expect(bytes[item.after.offset - 1]).toBe(0x7d);
      expect(bytes.subarray(0, item.after.offset).toString('utf8').split('\n').length).toBe(item.after.line);
      expect(JSON.parse(item.text)).toEqual(item.value);
    }
    for (const [k, item] of items.entries()) {
      const rest = await readAll(path, { from: item.after as { line: number; offset: number; index: number } });
      expect(rest.error).toBeUndefined();
      expect(rest.items.map((r) => r.after)).toEqual(items.slice(k + 1).map((r) => r.after));
      expect(rest.items.map((r) => r.text)).toEqual(items.slice(k + 1).map((r) => r.text));
    }
  });

  it('the {"data": [...]} shape: resumes inside the array and checks the rest of the object', async () => {
    const text = `{"meta": {"n": [1, 2]},\n "data": [{"id": 0},\n {"id": 1}, {"id": 2}\n ],\n "next": "x"}\n`;
    const path = await file('wrapped.json', text);
    const all = await readAll(path, { path: 'data' });
    expect(all.error).toBeUndefined();
    expect(all.items.map((item) => item.after)).toEqual([
      { line: 2, offset: text.indexOf('{"id": 0}') + 9, index: 1 },
      { line: 3, offset: text.indexOf('{"id": 1}') + 9, index: 2 },
      { line: 3, offset: text.indexOf('{"id": 2}') + 9, index: 3 },
    ]);
    const rest = await readAll(path, { path: 'data', from: all.items[0].after as { line: number; offset: number; index: number } });
    expect(rest.error).toBeUndefined();
    expect(rest.items.map((item) => item.value)).toEqual([{ id: 1 }, { id: 2 }]);
    // After the last element only the end of the array and of the object remain: nothing more, no error.
    const end = await readAll(path, { path: 'data', from: all.items[2].after as { line: number; offset: number; index: number } });
    expect(end).toEqual({ items: [] });

    // The end of the object is still checked after a resume.
    const broken = await file('wrapped-broken.json', text.replace('"next": "x"}', '"next": "x"'));
    const cut = await readAll(broken, { path: 'data', from: all.items[0].after as { line: number; offset: number; index: number } });
    expect(cut.items).toHaveLength(2);
    expect(cut.error).toBeInstanceOf(JsonArrayError);
    expect(cut.error!.message).toMatch(/ended after element \[2\]/);
  });

  it('errors after a resume name the element index and the line counted from the start of the file', async () => {
    const lines = ['[', '{"id": 0},', '{"id": 1},', '{"id": 2},', '{"id": 3,},', '{"id": 4}', ']'];
    const path = await file('bad.json', `${lines.join('\n')}\n`);
    const first = await readAll(path);
    expect(first.items).toHaveLength(3);
    expect(first.error).toMatchObject({ index: 3, line: 5 });
    const resumed = await readAll(path, { from: first.items[1].after as { line: number; offset: number; index: number } });
    expect(resumed.items.map((item) => item.value)).toEqual([{ id: 2 }]);
    expect(resumed.error).toBeInstanceOf(JsonArrayError);
    expect(resumed.error).toMatchObject({ index: 3, line: 5 });
    expect(resumed.error!.message).toContain(`${path}:5 element [3]`);

    // A skeleton fault after a resume: the index of the element before it.
    const skeleton = await file('skeleton.json', '[{"id": 0},\n{"id": 1}\n{"id": 2}]');
    const ok = await readAll(skeleton);
    expect(ok.error?.message).toMatch(/:3: expected "," or "\]" after element \[1\]/);
    const again = await readAll(skeleton, { from: ok.items[0].after as { line: number; offset: number; index: number } });
    expect(again.items).toHaveLength(1);
    expect(again.error?.message).toMatch(/:3: expected "," or "\]" after element \[1\]/);
  });

  it('positions do not depend on where the chunks split (scalars too), and a resume from each gives the rest', async () => {
    const text = '[ "a.1" ,\n12345678901234567890,{"id":"x\\"]"},\n\t-1.5e3 , true,[1,[2]]\r\n]';
    const bytes = Buffer.from(text);
    const read = async (chunks: Buffer[], from: ArrayPosition) => {
      const items: PositionedText[] = [];
      await pipeline(Readable.from(chunks, { objectMode: false }), parseJsonArray({ objectsOnly: false, from }), new Writable({ objectMode: true, write: (item: PositionedText, _e, cb) => (items.push(item), cb()) }));
      return items;
    };
    const whole = await read([bytes], { offset: 0, line: 0, index: 0 });
    expect(whole.map((item) => item.text)).toEqual(['"a.1"', '12345678901234567890', '{"id":"x\\"]"}', '-1.5e3', 'true', '[1,[2]]']);
    expect(whole.map((item) => text.slice(0, item.after.offset).trimEnd().endsWith(item.text))).toEqual(whole.map(() => true));
    for (let step = 1; step <= 5; step++) {
      const split: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += step) split.push(bytes.subarray(i, i + step));
      expect((await read(split, { offset: 0, line: 0, index: 0 })).map((item) => item.after)).toEqual(whole.map((item) => item.after));
      for (const [k, item] of whole.entries()) {
        const from = item.after as ArrayPosition;
        const rest = bytes.subarray(from.offset);
        const chunks: Buffer[] = [];
        for (let i = 0; i < rest.length; i += step) chunks.push(rest.subarray(i, i + step));
        expect((await read(chunks, from)).map((r) => r.after)).toEqual(whole.slice(k + 1).map((r) => r.after));
      }
    }
  });

  it('refuses a from position that is not one', async () => {
    const path = await file('one.json', '[{"id": 0}]');
    await expect(readAll(path, { from: { line: 0, offset: 5, index: 1 } }).then((r) => r.error)).resolves.toMatchObject({ name: 'ConfigError' });
  });
});
