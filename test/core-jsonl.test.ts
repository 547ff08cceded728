import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { JsonlError } from '../src/core/errors.js';
import { parseJsonl, stringifyJsonl } from '../src/core/jsonl.js';
import { rejection } from './helpers/rejection.js';

async function parse(chunks: Array<string | Buffer>, options?: Parameters<typeof parseJsonl>[0]): Promise<unknown[]> {
  const out: unknown[] = [];
  await pipeline(Readable.from(chunks), parseJsonl(options), async (source) => {
    for await (const value of source) out.push(value);
  });
  return out;
}

describe('parseJsonl', () => {
  it('parses lines split across chunks, skipping blank lines', async () => {
    expect(await parse(['{"a":1}\n{"b"', ':2}\n\n   \n[3]\n"x"'])).toEqual([{ a: 1 }, { b: 2 }, [3], 'x']);
  });

  it('accepts CRLF and a UTF-8 BOM, including multi-byte characters split across chunks', async () => {
    const text = Buffer.from('\ufeff{"name":"Zoë"}\r\n{"city":"Kraków"}\r\n');
    const split = text.indexOf(0xc3) + 1; // inside the two-byte "ë"
    expect(await parse([text.subarray(0, split), text.subarray(split)])).toEqual([{ name: 'Zoë' }, { city: 'Kraków' }]);
  });

  it('names the 1-based line number of a bad line (blank lines count)', async () => {
    const error = await rejection<JsonlError>(parse(['{"ok":1}\n\n{"ok":2}\n{broken\n{"ok":3}\n']));
    expect(error).toBeInstanceOf(JsonlError);
    expect(error.line).toBe(4);
    expect(error.message).toMatch(/line 4/);
    expect(error.excerpt).toBe('{broken');
  });

  it('checks its options', () => {
    expect(() => parseJsonl({ source: 5 as unknown as string })).toThrow(/"source"/);
    expect(() => parseJsonl({ maxLineBytes: 0 })).toThrow(/"maxLineBytes"/);
  });

  it('names the source when given', async () => {
    await expect(parse(['nope\n'], { source: 'in.jsonl' })).rejects.toThrow(/in\.jsonl:1/);
  });

  it('refuses a line over maxLineBytes, complete or still growing', async () => {
    const complete = await rejection<JsonlError>(parse([`{"a":1}\n"${'x'.repeat(200)}"\n`], { maxLineBytes: 100 }));
    expect(complete).toBeInstanceOf(JsonlError);
    expect(complete.line).toBe(2);
    const growing = await rejection<JsonlError>(parse(['{"a":1}\n', `"${'y'.repeat(150)}`, 'y'.repeat(150)], { maxLineBytes: 100 }));
    expect(growing).toBeInstanceOf(JsonlError);
    expect(growing.line).toBe(2);
    expect(growing.message).toMatch(/maxLineBytes/);
  });
});

describe('stringifyJsonl', () => {
  it('writes one JSON value per line and round-trips', async () => {
    const values = [{ a: 1 }, { text: 'line\nbreak' }, [1, 2], 'str'];
    let text = '';
    await pipeline(Readable.from(values), stringifyJsonl(), async (source) => {
      for await (const chunk of source) text += chunk;
    });
    expect(text).toBe('{"a":1}\n{"text":"line\\nbreak"}\n[1,2]\n"str"\n');
    expect(await parse([text])).toEqual(values);
  });
});
