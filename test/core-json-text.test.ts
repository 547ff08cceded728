/**
 * `keepText`: the parsers hand on each item's text as it was read, so a path that forwards items
 * (ingest, import, predictions' pass-through fields) never changes a number or drops a key.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { parseJsonArray } from '../src/core/json-array.js';
import { JsonText, oneLine } from '../src/core/json-text.js';
import { parseJsonl } from '../src/core/jsonl.js';
import { objectMapping } from '../src/destinations/columns.js';
import { dataWriter } from '../src/safetykit/index.js';
import { objectLineCheck } from '../src/safetykit/line-check.js';
import { startTestServer } from './helpers/server.js';

/** Values JSON.parse + JSON.stringify change: big integers, 1e400, -0, 1.0, duplicate keys. */
const FRAGILE = [
  '{"id":"a","n":12345678901234567890}',
  '{"id":"b","n":1e400,"m":-0,"f":1.0}',
  '{"id":"c","k":1,"k":2}',
  '{"id":"d","nested":{"x":[0.10,2E3]}}',
];

async function collect(source: Readable, parser: NodeJS.ReadWriteStream): Promise<unknown[]> {
  const out: unknown[] = [];
  await pipeline(source, parser, async (items: AsyncIterable<unknown>) => {
    for await (const item of items) out.push(item);
  });
  return out;
}

describe('keepText', () => {
  it('parseJsonl emits each line as it came (CRLF, BOM and surrounding spaces removed)', async () => {
    const input = `\ufeff${FRAGILE.map((line) => `  ${line}\r\n`).join('')}\n`;
    const items = (await collect(Readable.from([Buffer.from(input)]), parseJsonl({ keepText: true }))) as JsonText[];
    expect(items.every((item) => item instanceof JsonText)).toBe(true);
    expect(items.map((item) => item.text)).toEqual(FRAGILE);
    expect(items[0].value).toEqual({ id: 'a', n: 12345678901234567890 });
  });

  it('parseJsonArray emits each element as it stands in the array, split across chunks', async () => {
    const input = Buffer.from(`[\n  ${FRAGILE.join(',\n  ')}\n]`);
    const chunks = Array.from({ length: Math.ceil(input.length / 7) }, (_, i) => input.subarray(i * 7, i * 7 + 7));
    const items = (await collect(Readable.from(chunks), parseJsonArray({ keepText: true }))) as JsonText[];
    expect(items.map((item) => item.text)).toEqual(FRAGILE);
    const wrapped = (await collect(Readable.from([`{"data": [${FRAGILE.join(',')}]}`]), parseJsonArray({ keepText: true, path: 'data' }))) as JsonText[];
    expect(wrapped.map((item) => item.text)).toEqual(FRAGILE);
  });

  it('oneLine puts a pretty-printed element on one line without changing its value or digits', () => {
    const text = '{\r\n  "id": "x",\n  "n": 12345678901234567890,\n  "s": "a\\nb"\n}';
    const line = oneLine(text);
    expect(line).not.toMatch(/[\r\n]/);
    expect(JSON.parse(line)).toEqual(JSON.parse(text));
    expect(line).toContain('12345678901234567890');
    expect(oneLine('{"a":1}')).toBe('{"a":1}');
  });

  it('checks the option', () => {
    expect(() => parseJsonl({ keepText: 'yes' as unknown as boolean })).toThrow(/"keepText"/);
    expect(() => parseJsonArray({ keepText: 1 as unknown as boolean })).toThrow(/"keepText"/);
  });
});

describe('dataWriter with JsonText items', () => {
  it('sends each object text unchanged over HTTP, next to plain objects', async () => {
    const api = await startTestServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"requestId":"req-1","status":"accepted"}'));
    try {
      const lines = await collect(Readable.from([FRAGILE.join('\n')]), parseJsonl({ keepText: true }));
      const writer = dataWriter({ baseUrl: api.url, apiKey: 'sk-json-text-test', namespace: 'ns', flushIntervalMs: 0 });
      await pipeline(Readable.from([...lines, { id: 'e', plain: true }]), writer);
      expect(api.requests).toHaveLength(1);
      expect(api.requests[0].body.toString()).toBe(`{"data":[${FRAGILE.join(',')},{"id":"e","plain":true}]}`);
    } finally {
      await api.close();
    }
  });

  it('refuses a JsonText whose value has no id, naming the object', async () => {
    const api = await startTestServer((_req, res) => res.writeHead(500).end());
    try {
      const writer = dataWriter({ baseUrl: api.url, apiKey: 'sk-json-text-test', namespace: 'ns' });
      await expect(pipeline(Readable.from([new JsonText('{"n":1}', { n: 1 })]), writer)).rejects.toThrow(/#0|id/);
      expect(api.requests).toHaveLength(0);
    } finally {
      await api.close();
    }
  });
});

describe('JsonText where a plain object is expected', () => {
  it('JSON.stringify writes its value; a tabular writer maps its value and keeps its text as the record', () => {
    const item = new JsonText('{"id":"a","n":12345678901234567890}', { id: 'a', n: 12345678901234567890 });
    expect(JSON.stringify({ input: item })).toBe(JSON.stringify({ input: item.value }));
    const mapping = objectMapping(['id'], item, { keepRecord: true });
    expect(mapping.columns.map((column) => column.name)).toEqual(['id', 'extras', 'record']);
    const row = mapping.row(item);
    expect(row[0]).toBe('a');
    expect(JSON.parse(row[1] as string)).toEqual({ n: 12345678901234567890 });
    expect(row[2]).toBe('{"id":"a","n":12345678901234567890}');
  });

  it('an invalid Date left to extras says so instead of becoming null', () => {
    const mapping = objectMapping([{ name: 'at', type: 'timestamp' }], { at: new Date(NaN) });
    expect(mapping.row({ at: new Date(NaN) })).toEqual([null, '{"at":"Invalid Date"}']);
  });
});

describe('blank lines are JSON whitespace only', () => {
  it('a line of U+00A0 is refused by parseJsonl (String#trim would call it blank), naming its line', async () => {
    const error = await collect(Readable.from(['{"id":"a"}\n \t\r\n\u00a0\n']), parseJsonl()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/line 3/);
  });

  it('the import line check refuses it too', () => {
    const check = objectLineCheck(1024, 'x.jsonl');
    expect(check(Buffer.from(' \t'), 0, 2, 1)).toBe(false);
    const line = Buffer.from('\u00a0');
    expect(() => check(line, 0, line.length, 2)).toThrow(/x\.jsonl:2/);
  });
});
