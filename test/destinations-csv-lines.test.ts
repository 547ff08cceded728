/**
 * The CSV rows of JSON lines (issue 18, `src/destinations/csv-lines.ts`): the CSV and Parquet
 * destinations take an export's pages as JSON lines and make their rows from the bytes. The
 * output must be byte-identical to the object path (`csvRows`: JSON.parse, `row`, `field`) for
 * every record: seeded random records (Innerworks-like, with hostile mutations: escapes, unknown
 * and duplicate keys, numbers, wrong types, odd timestamps, whitespace, `__proto__`, formula-like
 * text), the hostile page of issue 15 and every page of the JSONL byte path's tests, with and
 * without `escapeFormulas` and `keepRecord`; and an export to CSV over loopback writes the same
 * file as the object path would.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonLines } from '../src/core/json-lines.js';
import { MAX_JSON_DEPTH } from '../src/core/json-bytes.js';
import { innerworksMapping, objectMapping, type ColumnMapping } from '../src/destinations/columns.js';
import { CsvLineRows } from '../src/destinations/csv-lines.js';
import { createCsvDestination, csvHeader, csvRows, type CsvFormatOptions } from '../src/destinations/csv.js';
import { createDuckdbDestination } from '../src/destinations/duckdb.js';
import { createParquetDestination } from '../src/destinations/parquet.js';
import { createPostgresDestination } from '../src/destinations/postgres.js';
import { parseInferenceBatch, readInferenceBatchLines } from '../src/innerworks/client.js';
import { exportInferenceResults } from '../src/innerworks/index.js';
import { hostilePageText, hostileRecordTexts } from './helpers/hostile-page.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/temp-dir.js';

/** The four ways rows are written: escapeFormulas (CSV files only) and keepRecord (both). */
const VARIANTS: Array<{ name: string; format: CsvFormatOptions; keepRecord: boolean }> = [
  { name: 'defaults', format: {}, keepRecord: false },
  { name: 'escapeFormulas', format: { escapeFormulas: true }, keepRecord: false },
  { name: 'keepRecord', format: {}, keepRecord: true },
  { name: 'escapeFormulas + keepRecord', format: { escapeFormulas: true }, keepRecord: true },
];

/** The encoder of `mapping` and a count of the records it handed to the object path. */
function encoderOf(mapping: ColumnMapping, format: CsvFormatOptions) {
  const counts = { fallback: 0 };
  const rows = new CsvLineRows(mapping, format, (records) => {
    counts.fallback += records.length;
    return csvRows(mapping, records, format);
  });
  return { rows, counts };
}

/** Each line through the fast path alone and as one page: both must be what csvRows writes of JSON.parse of the line. */
function expectSameRows(texts: readonly string[], mapping: ColumnMapping, format: CsvFormatOptions): { fallback: number } {
  const { rows, counts } = encoderOf(mapping, format);
  for (const text of texts) {
    const slow = csvRows(mapping, [JSON.parse(text) as object], format);
    const fast = rows.encode(JsonLines.fromTexts([text])).toString('utf8');
    expect(fast, text).toBe(slow);
  }
  const fallbackPerLine = counts.fallback;
  counts.fallback = 0;
  const page = rows.encode(JsonLines.fromTexts(texts));
  expect(page.toString('utf8')).toBe(csvRows(mapping, texts.map((text) => JSON.parse(text) as object), format));
  expect(counts.fallback).toBe(fallbackPerLine);
  return { fallback: fallbackPerLine };
}

// --- seeded random records ------------------------------------------------------------------

let seed = 20_261_202;
/** 0 … n-1, from a linear congruential generator (reproducible). */
function random(n: number): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
}
const pick = <T>(list: readonly T[]): T => list[random(list.length)];

const PLAIN_TEXT = ['Chrome', 'Mac OS X', 'user-123', '', 'a,b', 'x y', 'São Paulo, Brazil', '中文', '😀 emoji', '=1+2', '+44', '-5', '@SUM(A1)', "'quoted", 'Hide My Ass!', '2001:db8::1', '  spaced  ', '\u2028'];
/** JSON string bodies (as written between the quotes) that need the object path or test its edges. */
const ESCAPED_TEXT = ['a\\"b', 'back\\\\slash', 'line\\nbreak', 'cr\\rlf', 'tab\\there', '\\u0041', '\\/', 'nul\\u0000', 'lone \\ud800', '\\udc00x', '\\ud83d\\ude00', '\\u00e9', '=\\u0031', '\\"=quoted\\"', 'comma\\u002c'];
const TIMESTAMPS = [
  '2024-01-01T00:00:00.000Z',
  '2024-02-29T23:59:59.999Z',
  '0001-01-01T00:00:00.000Z',
  '0099-12-31T23:59:59.999Z',
  '9999-12-31T23:59:59.999Z',
  '2024-01-01T10:00:00Z',
  '2024-01-01t10:00:00.5z',
  '2024-01-01 10:00:00.12+02:00',
  '2024-01-01T10:00:00.123000-05:30',
  '2013-09-12T20:01:20.000000+00:00',
  '2024-01-01T10:00:00.123456Z',
  '2024-02-30T00:00:00.000Z',
  '2023-02-29T00:00:00.000Z',
  '2016-12-31T23:59:60Z',
  '2024-01-01T10:00:00',
  '+010000-01-01T00:00:00Z',
  '0000-01-01T00:00:00.000Z',
  '2024-01-01T24:00:00.000Z',
  '2024-01-01T10:00:00.000Z ',
  '2024-01-01T10:00:00.000+2:00',
  '２024-01-01T10:00:00.000Z',
  '2024-01-01T10:00:00.000Ż',
  'Project 12',
  '1',
  '',
];
const NUMBERS = ['0', '-0', '1', '1.0', '1e400', '-1.5e-3', '12345678901234567890', '1704103200', '1E+2'];
const OTHER_VALUES = ['true', 'false', 'null', '[]', '[1,"a"]', '{}', '{"a":1}', '{"requestId":"x"}'];

function jsonString(body: string): string {
  return `"${body}"`;
}

/** A value for a text column: mostly plain, sometimes escaped, sometimes not a string at all. */
function textValue(): string {
  const roll = random(100);
  if (roll < 70) return JSON.stringify(pick(PLAIN_TEXT));
  if (roll < 82) return jsonString(pick(ESCAPED_TEXT));
  if (roll < 88) return 'null';
  if (roll < 94) return pick(NUMBERS);
  return pick(OTHER_VALUES);
}

function booleanValue(): string {
  const roll = random(100);
  if (roll < 80) return pick(['true', 'false']);
  if (roll < 88) return 'null';
  return pick(['"true"', '"yes"', '0', '1', '[]', '{}', '"\\u0074rue"']);
}

function timestampValue(): string {
  const roll = random(100);
  if (roll < 60) return JSON.stringify(new Date(Date.UTC(2024, 0, 1) + random(2_000_000_000) * 1000 + random(1000)).toISOString());
  if (roll < 90) return JSON.stringify(pick(TIMESTAMPS));
  if (roll < 94) return 'null';
  if (roll < 97) return pick(NUMBERS);
  return jsonString('2024-01-01T00:00:00.000\\u005a');
}

/** An object's members as JSON text: each [key, value text], with hostile changes now and then. */
function objectText(members: Array<[string, string]>, hostile: boolean): string {
  const entries = members.filter(() => random(10) > 0);
  if (hostile) {
    const change = random(9);
    if (change === 0 && entries.length > 0) entries.push(pick(entries)); // a key twice
    if (change === 1) entries.push([pick(['isp', 'note', '0', '12', '__proto__', 'requestId', '']), textValue()]); // a key no column takes
    if (change === 2 && entries.length > 0) {
      const at = random(entries.length);
      entries[at] = [entries[at][0].replace(/^(.)/, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`), entries[at][1]]; // a key with an escape
    }
  }
  // Any order: the walk must not depend on the usual one.
  if (random(4) === 0) entries.sort(() => random(3) - 1);
  const spaced = hostile && random(12) === 0;
  return `{${entries.map(([key, value]) => (spaced ? ` "${key}" : ${value} ` : `"${key}":${value}`)).join(',')}}`;
}

function fingerprinting(hostile: boolean): string {
  return objectText(
    [
      ['browser', textValue()],
      ['fingerprint', textValue()],
      ['deviceOs', textValue()],
      ['socialId', textValue()],
    ],
    hostile,
  );
}

function geolocation(hostile: boolean): string {
  return objectText(
    [
      ['vpnDetectionReasons', textValue()],
      ['vpnIsEnabled', booleanValue()],
      ['trueGeoLocationName', textValue()],
      ['trueGeoLocationCode', textValue()],
      ['vpnProvider', textValue()],
      ['vpnLocationCode', textValue()],
      ['stateUS', textValue()],
      ['trueUserIpAddress', textValue()],
      ['requestIpAddress', textValue()],
    ],
    hostile,
  );
}

/** One record's JSON text: `hostile` lets every level change (keys twice, unknown keys, whitespace, wrong shapes). */
function randomRecord(hostile: boolean): string {
  const roll = random(40);
  const result =
    hostile && roll === 0
      ? pick(['null', '[]', '"x"', '7'])
      : objectText(
          [
            ['fingerprinting', hostile && roll === 1 ? pick(OTHER_VALUES) : fingerprinting(hostile)],
            ['geolocation', hostile && roll === 2 ? pick(OTHER_VALUES) : geolocation(hostile)],
          ],
          hostile,
        );
  return objectText(
    [
      ['requestId', textValue()],
      ['projectId', textValue()],
      ['timestamp', timestampValue()],
      ['result', result],
    ],
    hostile,
  );
}

/** A record as the emulator writes them: every value plain. */
function cleanRecord(n: number): string {
  return JSON.stringify({
    requestId: `req-${n}`,
    projectId: 'proj',
    timestamp: new Date(Date.UTC(2024, 0, 1) + n * 1001).toISOString(),
    result: {
      fingerprinting: { browser: 'Chrome', fingerprint: `fp${n}`, deviceOs: 'Windows', socialId: `user-${n}` },
      geolocation: { vpnDetectionReasons: 'Timezone mismatch, IP on list', vpnIsEnabled: n % 2 === 0, trueGeoLocationName: 'Lyon, France', trueGeoLocationCode: 'FR', trueUserIpAddress: '1.2.3.4', requestIpAddress: '5.6.7.8' },
    },
  });
}

describe('CSV rows from JSON lines = the object path, byte for byte', () => {
  for (const { name, format, keepRecord } of VARIANTS) {
    it(`${name}: 3000 seeded random records, half of them hostile`, () => {
      const mapping = innerworksMapping({ keepRecord });
      const texts: string[] = [];
      for (let i = 0; i < 3000; i++) {
        const text = randomRecord(i % 2 === 1);
        JSON.parse(text); // every generated record is JSON
        texts.push(text);
      }
      const { fallback } = expectSameRows(texts, mapping, format);
      // Both paths were taken, so the comparison says something about each.
      expect(fallback).toBeGreaterThan(300);
      expect(fallback).toBeLessThan(2700);
    });

    it(`${name}: clean records never take the object path`, () => {
      const texts = Array.from({ length: 200 }, (_, n) => cleanRecord(n));
      expect(expectSameRows(texts, innerworksMapping({ keepRecord }), format).fallback).toBe(0);
    });

    it(`${name}: the hostile page of issue 15, record by record`, () => {
      expectSameRows(hostileRecordTexts(), innerworksMapping({ keepRecord }), format);
    });
  }

  it('edge records: empty objects, null everywhere, empty strings, a comma in every cell, only extras', () => {
    const texts = [
      '{}',
      '{"result":{}}',
      '{"result":{"fingerprinting":{},"geolocation":{}}}',
      '{"requestId":null,"projectId":null,"timestamp":null,"result":{"fingerprinting":{"browser":null},"geolocation":{"vpnIsEnabled":null}}}',
      '{"requestId":"","projectId":"","timestamp":"2024-01-01T00:00:00.000Z","result":{"fingerprinting":{"browser":""}}}',
      '{"requestId":",","projectId":"a,b,c","result":{"geolocation":{"stateUS":",x,"}}}',
      '{"other":1}',
      '{"__proto__":{"polluted":true}}',
      '{"requestId":"a","requestId":"b"}',
      '{"result":{"fingerprinting":{"browser":"x"}},"result":{"geolocation":{}}}',
    ];
    for (const { format, keepRecord } of VARIANTS) expectSameRows(texts, innerworksMapping({ keepRecord }), format);
  });

  it('lines that are not valid UTF-8, or not compact, or whose count is not their newlines: the object path', () => {
    const mapping = innerworksMapping();
    const { rows, counts } = encoderOf(mapping, {});
    const invalid = Buffer.concat([Buffer.from('{"requestId":"caf'), Buffer.of(0xe9), Buffer.from('","projectId":"p"}\n{"requestId":"ok"}\n')]);
    const lines = new JsonLines(invalid, Uint32Array.of(invalid.indexOf(0x0a) + 1, invalid.length));
    expect(rows.encode(lines).toString('utf8')).toBe(csvRows(mapping, [lines.value(0) as object, lines.value(1) as object]));
    expect(counts.fallback).toBe(2);
    const spaced = JsonLines.fromTexts(['{ "requestId" : "a" }', '{"requestId":"b"}']);
    expect(rows.encode(spaced).toString('utf8')).toBe(csvRows(mapping, [{ requestId: 'a' }, { requestId: 'b' }]));
    // Not JSON (a raw tab inside a string, which no page reader lets through): JSON.parse's error, as the object path.
    const raw = JsonLines.fromTexts(['{"requestId":"a\tb"}']);
    expect(() => JSON.parse(raw.line(0))).toThrow(SyntaxError);
    expect(() => rows.encode(raw)).toThrow(SyntaxError);
  });

  it('mappings the walk does not take (a double column, index-like keys) give the object path their rows', () => {
    const texts = ['{"a":"x","n":1.5}', '{"a":"y,z","n":-0}'];
    expect(expectSameRows(texts, objectMapping(['a', { name: 'n', type: 'double' }], {}), {}).fallback).toBe(2);
    expect(expectSameRows(['{"0":"x","a":"y"}', '{"a":"y","0":"x"}'], objectMapping(['0', 'a'], {}, { keepRecord: true }), {}).fallback).toBe(2);
    // A mapping of text and boolean columns of other paths walks like the Innerworks one.
    const own = objectMapping([{ name: 'x', path: 'deep.x', type: 'string' }, { name: 'flag', type: 'boolean' }], {}, { keepRecord: true });
    expect(expectSameRows(['{"deep":{"x":"a,b"},"flag":true}', '{"flag":false,"deep":{}}'], own, {}).fallback).toBe(0);
  });
});

// --- whole pages, as the export reads them ---------------------------------------------------

const record = (n: number) => ({ requestId: `req-${n}`, projectId: 'p', timestamp: new Date(1_700_000_000_000 + n).toISOString(), result: { n } });
const body = (results: unknown[], checkpoint: unknown, extra: object = {}) => JSON.stringify({ batchSize: 2, results, checkpoint, ...extra });
const nested = (depth: number) => `{"requestId":"deep","timestamp":"2023-11-14T22:13:20.001Z","v":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
const nestedColumn = (depth: number) => `{"requestId":"deep","result":${'{"geolocation":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}}`;

/** The pages of the JSONL byte path's tests (test/innerworks-jsonl-bytes.test.ts) and the hostile page. */
const PAGES: Array<[string, string | Buffer]> = [
  ['hostile values (NUL, lone surrogates, odd timestamps, __proto__)', hostilePageText()],
  ['a pretty-printed page (LF)', JSON.stringify({ batchSize: 2, results: [record(1), record(2)], checkpoint: 'QQ==' }, null, 2)],
  ['a pretty-printed hostile page (CRLF, tabs)', JSON.stringify(JSON.parse(hostilePageText()), null, '\t').replaceAll('\n', '\r\n')],
  ['the key written with an escape', body([record(1), record(2)], 'QQ==').replace('"results"', '"res\\u0075lts"')],
  ['nested 1000 levels', body([JSON.parse(nested(MAX_JSON_DEPTH))], 'QQ==')],
  ['nested 1001 levels (read by JSON.parse)', `{"batchSize":2,"results":[${nested(MAX_JSON_DEPTH + 1)}],"checkpoint":"QQ=="}`],
  ['objects nested 900 levels under a column path', `{"batchSize":2,"results":[${nestedColumn(900)}],"checkpoint":"QQ=="}`],
  ['invalid UTF-8 (read by JSON.parse: U+FFFD)', Buffer.concat([Buffer.from('{"batchSize":2,"results":[{"requestId":"caf'), Buffer.of(0xe9), Buffer.from('","timestamp":"2023-11-14T22:13:20.001Z"}],"checkpoint":"QQ=="}')])],
  ['"results" twice (JSON.parse keeps the last)', `{"results":[${JSON.stringify(record(9))}],${body([record(1), record(2)], 'QQ==').slice(1)}`],
  ['values the object path changes (big integers, 1e400, -0, escapes, a key twice)', `{"batchSize":2,"results":[{"requestId":"exact","timestamp":"2023-11-14T22:13:20.001Z","big":12345678901234567890,"huge":1e400,"negzero":-0,"one":1.0,"exp":1E+2,"text":"\\u0041\\/","dup":1,"dup":2}],"checkpoint":"QQ=="}`],
  ['many clean records', body(Array.from({ length: 500 }, (_, n) => JSON.parse(cleanRecord(n))), 'QQ==')],
];

describe('pages read as the export reads them: the lines path = JSON.parse of the page', () => {
  for (const [name, page] of PAGES) {
    it(name, () => {
      for (const { format, keepRecord } of VARIANTS) {
        const mapping = innerworksMapping({ keepRecord });
        const slow = csvRows(mapping, parseInferenceBatch(Buffer.from(page).toString('utf8')).results, format);
        const { rows } = encoderOf(mapping, format);
        const lines = readInferenceBatchLines(Buffer.from(page)).results;
        expect(rows.encode(lines).toString('utf8')).toBe(slow);
      }
    });
  }
});

// --- the destinations ------------------------------------------------------------------------

const dir = tempDir('csv-lines-');
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('the destinations take pages as lines', () => {
  it('CSV, Parquet and DuckDB destinations have writeLines (the export hands them lines); PostgreSQL, which needs the values, does not', () => {
    const context = { mapping: innerworksMapping() };
    expect(typeof createCsvDestination({ file: join(dir(), 'a.csv') }, context).writeLines).toBe('function');
    expect(typeof createParquetDestination({ file: join(dir(), 'a.parquet') }, context).writeLines).toBe('function');
    expect(typeof createDuckdbDestination({ database: join(dir(), 'a.duckdb'), table: 'a' }, context).writeLines).toBe('function');
    expect(createPostgresDestination({ connectionString: 'postgres://u@127.0.0.1:1/db', table: 'a' }, context).writeLines).toBeUndefined();
  });

  it('an export of random and hostile pages to CSV over loopback writes what the object path writes', async () => {
    const pages = [hostilePageText(), body(Array.from({ length: 300 }, (_, i) => JSON.parse(randomRecord(i % 3 === 0))), 'Qg=='), body([], 'Qg==')];
    let served = 0;
    server = await startTestServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(pages[Math.min(served++, pages.length - 1)]);
    });
    const file = join(dir(), 'out.csv');
    await exportInferenceResults({ apiKey: 'independent-key', baseUrl: server.url, retry: false, file, prefetch: 0, csvEscapeFormulas: true, keepRecord: true });
    const mapping = innerworksMapping({ keepRecord: true });
    const records = pages.flatMap((page) => parseInferenceBatch(page).results);
    expect(records.length).toBeGreaterThan(300);
    const expected = csvHeader(mapping) + csvRows(mapping, records, { escapeFormulas: true });
    expect((await readFile(file)).toString('utf8')).toBe(expected);
  });
});
