/**
 * The JSONL export's byte path (issue 18): each page's results are written as the bytes the body
 * holds, never parsed into objects. Fed every hostile page of the reliability issues (hostile
 * values, protocol traps, bodies that are not JSON, pretty-printed pages, invalid UTF-8, deep
 * nesting), served by an independent node:http server, it must write exactly what the object
 * path writes (`inferenceResults`, i.e. JSON.parse of the page, and one `JSON.stringify` a line,
 * as the export did before), or fail with exactly its error after the same lines. Only where the
 * object path changes a value (big integers, 1e400, -0, escapes, a key twice) does the byte path
 * differ: it keeps the server's text.
 */
import { isUtf8 } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { arrayMemberLines } from '../src/core/array-member-lines.js';
import { MAX_JSON_DEPTH } from '../src/core/json-bytes.js';
import { jsonLine } from '../src/core/jsonl.js';
import { exportInferenceResults, inferenceResults } from '../src/innerworks/index.js';
import { hostilePageText } from './helpers/hostile-page.js';
import { startTestServer, type Handler, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('iw-jsonl-bytes-');
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const record = (n: number) => ({ requestId: `req-${n}`, projectId: 'p', timestamp: new Date(1_700_000_000_000 + n).toISOString(), result: { n } });
const body = (results: unknown[], checkpoint: unknown, extra: object = {}) => JSON.stringify({ batchSize: 2, results, checkpoint, ...extra });
const END = body([], 'ZW5k');
const GOOD = body([record(1), record(2)], 'QQ==');

/** The pages in turn (the last one repeats), as the body bytes. */
function serving(pages: Array<string | Buffer>): Handler[] {
  return pages.map((page) => (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(page));
}

interface Outcome {
  /** What was written (or emitted), as JSONL bytes. */
  bytes: Buffer;
  /** The error message it ended with. */
  error: string | undefined;
}

const options = (url: string, endTime?: number) => ({ baseUrl: url, apiKey: 'independent-key-1', batchSize: 2, retry: false as const, endTime });

/** The object path: every page through JSON.parse, one JSON.stringify a line (what the export wrote before). */
async function objectPath(pages: Array<string | Buffer>, endTime?: number): Promise<Outcome> {
  server = await startTestServer(...serving(pages));
  let text = '';
  let error: string | undefined;
  try {
    for await (const result of inferenceResults(options(server.url, endTime))) text += `${jsonLine(result)}\n`;
  } catch (failure) {
    error = (failure as Error).message;
  }
  await server.close();
  server = undefined;
  return { bytes: Buffer.from(text), error };
}

let files = 0;
/** The JSONL export to a file (the byte path). */
async function bytePath(pages: Array<string | Buffer>, endTime?: number): Promise<Outcome> {
  server = await startTestServer(...serving(pages));
  const file = join(dir(), `out-${files++}.jsonl`);
  let error: string | undefined;
  try {
    await exportInferenceResults({ ...options(server.url, endTime), file });
  } catch (failure) {
    error = (failure as Error).message;
  }
  await server.close();
  server = undefined;
  return { bytes: await readFile(file).catch(() => Buffer.alloc(0)), error };
}

/** Whether the byte reader takes the page itself (else the export reads it with JSON.parse), as the client decides. */
const takenAsBytes = (page: string | Buffer) => isUtf8(Buffer.from(page)) && arrayMemberLines(Buffer.from(page), 'results') !== undefined;

const nested = (depth: number) => `{"requestId":"deep","timestamp":"2023-11-14T22:13:20.001Z","v":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
const invalidUtf8 = Buffer.concat([Buffer.from('{"batchSize":2,"results":[{"requestId":"caf'), Buffer.of(0xe9), Buffer.from('","timestamp":"2023-11-14T22:13:20.001Z"}],"checkpoint":"QQ=="}')]);

/** [name, pages, whether the page that matters (the first; for a failure, the second) is read as bytes, expect an error]. */
const CASES: Array<[string, Array<string | Buffer>, boolean, boolean]> = [
  ['hostile values (NUL, lone surrogates, odd timestamps, __proto__)', [hostilePageText(), END], true, false],
  ['a pretty-printed page (LF)', [JSON.stringify({ batchSize: 2, results: [record(1), record(2)], checkpoint: 'QQ==' }, null, 2), END], true, false],
  ['a pretty-printed page (CRLF, tabs), checkpoint first, other members', [JSON.stringify({ checkpoint: 'QQ==', debug: { list: [1, 2] }, results: [record(1), record(2)] }, null, '\t').replaceAll('\n', '\r\n'), END], true, false],
  ['the key written with an escape', [GOOD.replace('"results"', '"res\\u0075lts"'), END], true, false],
  ['nested 1000 levels', [body([JSON.parse(nested(MAX_JSON_DEPTH))], 'QQ=='), END], true, false],
  ['nested 1001 levels (read by JSON.parse)', [`{"batchSize":2,"results":[${nested(MAX_JSON_DEPTH + 1)}],"checkpoint":"QQ=="}`, END], false, false],
  ['invalid UTF-8 (read by JSON.parse: U+FFFD, as before)', [invalidUtf8, END], false, false],
  ['"results" twice (JSON.parse keeps the last)', [`{"results":[${JSON.stringify(record(9))}],${GOOD.slice(1)}`, END], false, false],
  ['the end with a null checkpoint', [GOOD, body([], null)], true, false],
  ...(['null', '7', '"req-x"', 'true', `[${JSON.stringify(record(9))}]`].map((bad) => [`a result that is ${bad.slice(0, 10)}`, [GOOD, `{"batchSize":2,"results":[${JSON.stringify(record(3))},${bad}],"checkpoint":"Qg=="}`, END], false, true]) as Array<[string, string[], boolean, boolean]>),
  ['the same checkpoint back', [GOOD, body([record(3)], 'QQ==')], true, true],
  ['a cycle A → B → A', [GOOD, body([record(3)], 'Qg=='), body([record(4)], 'QQ==')], true, true],
  ['results without a checkpoint', [GOOD, body([record(3)], undefined)], true, true],
  ['a checkpoint that is not a string', [GOOD, body([record(3)], 42)], true, true],
  ['a body cut short', [GOOD, GOOD.replace('QQ==', 'Qg==').slice(0, -20)], false, true],
  ['text after the document', [GOOD, `${body([record(3)], 'Qg==')} x`], false, true],
  ['a raw newline inside a string', [GOOD, body([{ ...record(3), requestId: 'a\nb' }], 'Qg==').replace('\\n', '\n')], false, true],
  ['a BOM', [GOOD, `\ufeff${body([record(3)], 'Qg==')}`], false, true],
  ['an invalid escape', [GOOD, body([record(3)], 'Qg==').replace('req-3', 'req\\x3')], false, true],
  ['a leading zero', [GOOD, body([record(3)], 'Qg==').replace('"n":3', '"n":03')], false, true],
  ['NaN', [GOOD, body([record(3)], 'Qg==').replace('"n":3', '"n":NaN')], false, true],
  ['no results array', [GOOD, '{"batchSize":2,"data":[],"checkpoint":"Qg=="}'], false, true],
];

describe('the JSONL byte path writes what the object path writes, or fails as it does', () => {
  for (const [name, pages, fast, fails] of CASES) {
    it(name, async () => {
      expect(takenAsBytes(pages[fails ? 1 : 0])).toBe(fast);
      const before = await objectPath(pages);
      const now = await bytePath(pages);
      expect(now.error).toBe(before.error);
      expect(now.error !== undefined).toBe(fails);
      expect(now.bytes.toString('utf8')).toBe(before.bytes.toString('utf8'));
      expect(now.bytes.equals(before.bytes)).toBe(true);
      if (!fails) expect(now.bytes.length).toBeGreaterThan(0);
    });
  }

  it('a page cut at endTime: the results before it, from the lines', async () => {
    const pages = [body([record(1), record(2)], 'QQ=='), body([record(3), record(4)], 'Qg=='), END];
    const endTime = 1_700_000_000_004;
    const before = await objectPath(pages, endTime);
    const now = await bytePath(pages, endTime);
    expect(now.error).toBeUndefined();
    expect(now.bytes.toString()).toBe([1, 2, 3].map((n) => `${JSON.stringify(record(n))}\n`).join(''));
    expect(now.bytes.equals(before.bytes)).toBe(true);
  });
});

describe('the byte path keeps every value as the server wrote it', () => {
  it('big integers, 1e400, -0, 1.0, exponents, escapes and a key twice are written as sent (the object path changed them)', async () => {
    const element = '{"requestId":"exact","timestamp":"2023-11-14T22:13:20.001Z","big":12345678901234567890,"huge":1e400,"negzero":-0,"one":1.0,"exp":1E+2,"text":"\\u0041\\/","dup":1,"dup":2}';
    const pages = [`{"batchSize":2,"results":[${element}],"checkpoint":"QQ=="}`, END];
    const now = await bytePath(pages);
    expect(now.error).toBeUndefined();
    expect(now.bytes.toString()).toBe(`${element}\n`);
    const before = await objectPath(pages);
    expect(before.bytes.toString()).toBe('{"requestId":"exact","timestamp":"2023-11-14T22:13:20.001Z","big":12345678901234567000,"huge":null,"negzero":0,"one":1,"exp":100,"text":"A/","dup":2}\n');
  });
});
