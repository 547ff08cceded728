/**
 * Hostile input files (issue 15 §7) for `ingest` and `predict`, over real HTTP to independent
 * node:http servers that capture the raw request bodies: numbers and keys arrive as they were
 * written, invalid UTF-8 and over-deep nesting are refused with the line, a `.jsonl` is JSONL
 * whatever its first line looks like, a wrapper with two arrays needs `--json-path`, an object
 * over the request limit is named by its line (and skipped with --skip-invalid), and the CLI's
 * flags refuse what they cannot mean.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { terminalSafe } from '../src/cli/terminal-text.js';
import { JsonArrayError, JsonlError } from '../src/core/errors.js';
import { parseJsonArray } from '../src/core/json-array.js';
import { MAX_JSON_DEPTH } from '../src/core/json-bytes.js';
import { JsonText } from '../src/core/json-text.js';
import { parseJsonl, stringifyJsonl } from '../src/core/jsonl.js';
import { dataWriter, InvalidObjectError } from '../src/safetykit/index.js';
import { LineChecker, objectLineCheck } from '../src/safetykit/line-check.js';
import { captureCli } from './helpers/cli.js';
import { rejection } from './helpers/rejection.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { tempDir } from './helpers/temp-dir.js';

/** Lines that JSON.parse + JSON.stringify would change. */
const FRAGILE = ['{"id":"a","n":12345678901234567890}', '{"id":"b","n":1e400,"m":-0,"f":1.0}', '{"id":"c","k":1,"k":2}'];

const dir = tempDir('input-fidelity-');
async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir(), name);
  await writeFile(path, content);
  return path;
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A SafetyKit stand-in that accepts every add. */
async function safetykit(): Promise<TestServer> {
  let n = 0;
  server = await startTestServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ requestId: `req-${++n}`, status: 'queued' })));
  return server;
}

async function ingest(args: string[], stdinText?: string) {
  const cli = captureCli({ env: { SAFETYKIT_API_KEY: 'sk-fidelity', SAFETYKIT_BASE_URL: server!.url }, stdinText });
  const code = await cli.run('ingest', '--no-progress', '--namespace', 'ns', ...args);
  return { code, out: cli.out(), err: cli.err() };
}

/** The objects' texts in the captured add bodies, in order. */
function sentTexts(api: TestServer): string[] {
  return api.requests.flatMap((request) => {
    const body = request.body.toString();
    expect(body.startsWith('{"data":[') && body.endsWith(']}')).toBe(true);
    return splitTopLevel(body.slice('{"data":['.length, -2));
  });
}

/** Split `a,b,c` of JSON values at the commas between them. */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (text.length > 0) out.push(text.slice(start));
  return out;
}

describe('ingest sends each object as its own JSON text', () => {
  it('JSONL and a JSON array arrive byte for byte (big integers, 1e400, -0, 1.0, duplicate keys)', async () => {
    const api = await safetykit();
    const jsonl = await ingest(['--in', await file('fragile.jsonl', `${FRAGILE.join('\n')}\n`)]);
    expect(jsonl.code, jsonl.err).toBe(EXIT.ok);
    expect(sentTexts(api)).toEqual(FRAGILE);
    api.requests.length = 0;
    const array = await ingest(['--in', await file('fragile.json', `[\n${FRAGILE.join(',\n')}\n]`)]);
    expect(array.code, array.err).toBe(EXIT.ok);
    expect(sentTexts(api)).toEqual(FRAGILE);
  });

  it('the built CLI sends the same bytes', async () => {
    const api = await safetykit();
    const cli = spawnCli(['ingest', '--namespace', 'ns', '--no-progress'], { SAFETYKIT_API_KEY: 'sk-fidelity', SAFETYKIT_BASE_URL: api.url }, `${FRAGILE.join('\n')}\n`);
    const [code] = await cli.exited;
    expect(code, cli.err()).toBe(EXIT.ok);
    expect(sentTexts(api)).toEqual(FRAGILE);
  });
});

describe('invalid UTF-8 is refused with its line, on every reader', () => {
  const bad = Buffer.concat([Buffer.from('{"id":"a"}\n{"id":"b","s":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n{"id":"c"}\n')]);

  it('parseJsonl and parseJsonArray name the line and the byte', async () => {
    const jsonl = await rejection<JsonlError>(pipeline(Readable.from([bad]), parseJsonl(), async (items: AsyncIterable<unknown>) => {
      for await (const _ of items);
    }));
    expect(jsonl).toBeInstanceOf(JsonlError);
    expect(jsonl.line).toBe(2);
    expect(jsonl.message).toMatch(/line 2: invalid UTF-8 \(byte 0xe9/);
    const array = Buffer.concat([Buffer.from('[{"id":"a"},\n{"id":"b","s":"caf'), Buffer.from([0xe9]), Buffer.from('"}]')]);
    const arrayError = await rejection<JsonArrayError>(pipeline(Readable.from([array]), parseJsonArray(), async (items: AsyncIterable<unknown>) => {
      for await (const _ of items);
    }));
    expect(arrayError).toBeInstanceOf(JsonArrayError);
    expect(arrayError.message).toMatch(/line 2 element \[1\]: invalid UTF-8 \(byte 0xe9/);
  });

  it('ingest adds the lines before it and sends nothing of it', async () => {
    const api = await safetykit();
    const { code, err } = await ingest(['--in', await file('latin1.jsonl', bad)]);
    expect(code).toBe(EXIT.failure);
    expect(err).toMatch(/latin1\.jsonl:2: invalid UTF-8/);
    expect(sentTexts(api)).toEqual(['{"id":"a"}']);
  });

  it('import refuses it too, naming the line, and uploads nothing', async () => {
    const api = await safetykit();
    const cli = captureCli({ env: { SAFETYKIT_API_KEY: 'sk-fidelity', SAFETYKIT_BASE_URL: api.url } });
    const code = await cli.run('import', '--no-progress', '--namespace', 'ns', '--in', await file('latin1-import.jsonl', bad));
    expect(code).toBe(EXIT.failure);
    expect(cli.err()).toMatch(/latin1-import\.jsonl:2: invalid UTF-8 \(byte 0xe9/);
    expect(api.requests.filter((request) => request.method === 'PUT')).toHaveLength(0);
  });

  it("the import's two-core line check finds it in a batch that would go to its worker", async () => {
    const checker = new LineChecker(objectLineCheck(1 << 20, 'big.jsonl'), { workerAfterBytes: 0, batchBytes: 4096, useWorker: true });
    try {
      const good = Buffer.from(Array.from({ length: 200 }, (_, i) => `{"id":"line-${i + 1}","text":"${'t'.repeat(40)}"}\n`).join(''));
      await checker.check(good, 0, good.length, 1, 200);
      const latin1 = Buffer.concat([Buffer.from('{"id":"x","s":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]);
      const error = await rejection<JsonlError>(checker.check(latin1, 0, latin1.length, 201, 1).then(() => checker.settle()));
      expect(error.message).toMatch(/big\.jsonl:201: invalid UTF-8/);
    } finally {
      checker.close();
    }
  });

  it('gzip and UTF-16 input are named as such', async () => {
    await safetykit();
    const gz = await ingest(['--in', await file('items.jsonl.gz', gzipSync('{"id":"a"}\n'))]);
    expect(gz.err).toMatch(/gzip-compressed: decompress it first/);
    const utf16 = await ingest(['--in', await file('items16.jsonl', Buffer.from('\ufeff{"id":"a"}\n', 'utf16le'))]);
    expect(utf16.err).toMatch(/looks like UTF-16/);
    const utf16Array = await ingest(['--in', await file('items16.json', Buffer.from('[{"id":"a"}]', 'utf16le'))]);
    expect(utf16Array.err).toMatch(/looks like UTF-16/);
    expect(server!.requests).toHaveLength(0);
    const cli = captureCli({ env: { SAFETYKIT_API_KEY: 'sk-fidelity', SAFETYKIT_BASE_URL: server!.url } });
    expect(await cli.run('import', '--no-progress', '--namespace', 'ns', '--in', await file('import.jsonl.gz', gzipSync('{"id":"a"}\n')))).toBe(EXIT.failure);
    expect(cli.err()).toMatch(/import\.jsonl\.gz:1: the input is gzip-compressed/);
  });
});

describe('format detection', () => {
  it('a .jsonl whose first record starts with {"data":[ is JSONL', async () => {
    const api = await safetykit();
    const lines = ['{"data":[1,2],"id":"first"}', '{"id":"second"}'];
    const { code, err } = await ingest(['--in', await file('looks-wrapped.jsonl', `${lines.join('\n')}\n`)]);
    expect(code, err).toBe(EXIT.ok);
    expect(sentTexts(api)).toEqual(lines);
  });

  it('a wrapper with arrays under two keys is refused before anything is sent, unless --json-path names one', async () => {
    const api = await safetykit();
    const path = await file('two.json', '{"data":[{"id":"a"}],"more":[{"id":"b"}]}');
    const refused = await ingest(['--in', path]);
    expect(refused.code).toBe(EXIT.failure);
    expect(refused.err).toMatch(/array under "more" besides "data": say which one to read \(--json-path KEY/);
    const more = await ingest(['--in', path, '--json-path', 'more']);
    expect(more.code, more.err).toBe(EXIT.ok);
    expect(sentTexts(api)).toEqual(['{"id":"b"}']);
    const array = await ingest(['--json-path', 'data'], '[{"id":"a"}]');
    expect(array.code).toBe(EXIT.failure);
    expect(array.err).toMatch(/stdin:1: expected an object with a "data" array/);
    const jsonl = await ingest(['--in', await file('x.jsonl', '{"id":"a"}\n'), '--json-path', 'data']);
    expect(jsonl.code).toBe(EXIT.usage);
    expect(jsonl.err).toMatch(/--json-path reads a JSON document/);
  });
});

describe('an object over the request limit', () => {
  const big = JSON.stringify({ id: 'big', text: 'x'.repeat(4.5 * 1024 * 1024) });
  const input = ['{"id":"a"}', '{"id":"b"}', big, '{"id":"c"}'].join('\n');

  it('is named by its line, after the objects before it are sent', async () => {
    const api = await safetykit();
    const { code, err } = await ingest(['--in', await file('big.jsonl', input)]);
    expect(code).toBe(EXIT.failure);
    expect(err).toMatch(/big\.jsonl:3: the object is \d+ bytes serialized, more than one add request carries/);
    expect(err).not.toMatch(/Object #/);
    expect(sentTexts(api)).toEqual(['{"id":"a"}', '{"id":"b"}']);
  });

  it('dataWriter sends the objects written before it, then fails naming it', async () => {
    const api = await safetykit();
    const writer = dataWriter({ baseUrl: api.url, apiKey: 'sk-fidelity', namespace: 'ns', flushIntervalMs: 0 });
    const error = await rejection(pipeline(Readable.from([{ id: 'a' }, { id: 'b' }, JSON.parse(big) as object, { id: 'c' }]), writer));
    expect(error).toBeInstanceOf(InvalidObjectError);
    expect(error.message).toMatch(/Object #2 \(0-based\) cannot be sent: the object is \d+ bytes serialized/);
    expect(sentTexts(api)).toEqual(['{"id":"a"}', '{"id":"b"}']);
  });

  it('is skipped (and counted) with --skip-invalid', async () => {
    const api = await safetykit();
    const { code, out, err } = await ingest(['--in', await file('big2.jsonl', input), '--skip-invalid', '--json']);
    expect(code, err).toBe(EXIT.ok);
    expect(JSON.parse(out)).toMatchObject({ objects: 3, skipped: 1 });
    expect(sentTexts(api)).toEqual(['{"id":"a"}', '{"id":"b"}', '{"id":"c"}']);
  });
});

describe(`nesting deeper than ${MAX_JSON_DEPTH} levels`, () => {
  const nested = (depth: number) => `{"id":"deep","v":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

  it('is refused by both parsers with the item named; the limit itself is accepted', async () => {
    const read = (parser: NodeJS.ReadWriteStream, text: string) =>
      pipeline(Readable.from([text]), parser, async (items: AsyncIterable<unknown>) => {
        for await (const _ of items);
      });
    await read(parseJsonl(), `${nested(MAX_JSON_DEPTH)}\n`);
    await read(parseJsonArray(), `[${nested(MAX_JSON_DEPTH)}]`);
    const jsonl = await rejection<JsonlError>(read(parseJsonl(), `{"id":"ok"}\n${nested(MAX_JSON_DEPTH + 1)}\n`));
    expect(jsonl.message).toMatch(/line 2: nested deeper than 1000 levels/);
    const array = await rejection<JsonArrayError>(read(parseJsonArray(), `[{"id":"ok"},\n${nested(100_000)}]`));
    expect(array).toBeInstanceOf(JsonArrayError);
    expect(array.message).toMatch(/line 2 element \[1\]: the element is nested deeper than 1000 levels/);
    expect(array.message).not.toMatch(/call stack/);
  });

  it("the import's two-core line check refuses it in a batch that goes to its worker", async () => {
    const checker = new LineChecker(objectLineCheck(1 << 20, 'deep.jsonl'), { workerAfterBytes: 0, batchBytes: 4096, useWorker: true });
    try {
      const good = Buffer.from(Array.from({ length: 200 }, (_, i) => `{"id":"line-${i + 1}","text":"${'t'.repeat(40)}"}\n`).join(''));
      await checker.check(good, 0, good.length, 1, 200);
      expect(checker.workerRunning).toBe(true);
      const deep = Buffer.from(`${nested(MAX_JSON_DEPTH + 1)}\n`);
      const error = await rejection<JsonlError>(checker.check(deep, 0, deep.length, 201, 1).then(() => checker.settle()));
      expect(error.message).toMatch(/deep\.jsonl:201: nested deeper than 1000 levels/);
      expect(checker.workerLines).toBeGreaterThan(0);
    } finally {
      checker.close();
    }
  });

  it('ingest names the element of a 100,000-deep array element', async () => {
    await safetykit();
    const { code, err } = await ingest(['--in', await file('deep.json', `[{"id":"ok"},\n${nested(100_000)}]`)]);
    expect(code).toBe(EXIT.failure);
    expect(err).toMatch(/deep\.json:2 element \[1\]: the element is nested deeper than 1000 levels/);
  });
});

describe('terminal output', () => {
  it('control bytes of a bad line are shown escaped, never raw', async () => {
    await safetykit();
    const { code, err } = await ingest(['--in', await file('ctl.jsonl', '{"id":"a"}\n\u001b]0;owned\u0007\u001b[2J nope\n')]);
    expect(code).toBe(EXIT.failure);
    expect(err).toMatch(/ctl\.jsonl:2/);
    // eslint-disable-next-line no-control-regex
    expect(err).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(terminalSafe('a\u001b[31mb\u202ec\td\n')).toBe('a\\x1b[31mb\\u202ec\td\n');
  });

  it('too few file descriptors (ulimit -n 28): one line with a hint, no stack', async () => {
    const child = spawn('bash', ['-c', 'ulimit -n 28 && exec "$0" dist/cli/main.js ingest --namespace ns --in -', process.execPath], {
      env: { ...process.env, SAFETYKIT_API_KEY: 'sk-x', SAFETYKIT_BASE_URL: 'http://127.0.0.1:9' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(EXIT.failure);
    expect(err).toMatch(/EMFILE.*raise the limit of open files \(e\.g\. ulimit -n 4096\)/);
    expect(err).not.toMatch(/\n\s+at /);
  });
});

describe('predict keeps the input text in its output', () => {
  /** A Reinfer stand-in: one label per document. */
  async function reinfer(): Promise<TestServer> {
    server = await startTestServer((_req, res, body) => {
      const { documents } = JSON.parse(body.toString()) as { documents: unknown[] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', predictions: documents.map(() => [{ name: ['A'], probability: 0.5 }]), model: { version: 1, time: '2026-01-01T00:00:00Z' } }));
    });
    return server;
  }
  const DOCS = [
    '{"id":12345678901234567890,"messages":[{"body":{"text":"hi"}}],"score":1.0}',
    '{"messages":[{"body":{"text":"x"}}],"user_properties":{"number:n":1e2}}',
  ];

  it('each output line embeds the input as it was read; a document with nothing to leave out is sent as read', async () => {
    const api = await reinfer();
    const cli = captureCli({ env: { REINFER_TOKEN: 'tok-fidelity', REINFER_ENDPOINT: api.url }, stdinText: `${DOCS.join('\n')}\n` });
    const code = await cli.run('predict', '--project', 'p', '--dataset', 'd', '--no-progress');
    expect(code, cli.err()).toBe(EXIT.ok);
    const lines = cli.out().trim().split('\n');
    expect(lines.map((line) => line.slice(0, line.indexOf(',"labels":')))).toEqual(DOCS.map((doc) => `{"input":${doc}`));
    expect(api.requests[0].body.toString()).toContain(DOCS[1]);
  });

  it('the same from the built CLI, a pretty-printed JSON array on one line each', async () => {
    const api = await reinfer();
    const path = await file('docs.json', `[\n  ${DOCS.join(',\n  ')}\n]\n`);
    const cli = spawnCli(['predict', '--project', 'p', '--dataset', 'd', '--in', path, '--no-progress'], { REINFER_TOKEN: 'tok-fidelity', REINFER_ENDPOINT: api.url });
    const [code] = await cli.exited;
    expect(code, cli.err()).toBe(EXIT.ok);
    expect(cli.out().trim().split('\n').map((line) => line.slice(0, line.indexOf(',"labels":')))).toEqual(DOCS.map((doc) => `{"input":${doc}`));
  });

  it('stringifyJsonl writes a JsonText, and a JsonText field, as its text', async () => {
    let text = '';
    const input = new JsonText('{"n":1.0,\n"k":1,"k":2}', { n: 1, k: 2 });
    await pipeline(Readable.from([input, { input, n: 1, skip: undefined }, { plain: 1 }]), stringifyJsonl(), async (source: AsyncIterable<string>) => {
      for await (const chunk of source) text += chunk;
    });
    expect(text).toBe('{"n":1.0, "k":1,"k":2}\n{"input":{"n":1.0, "k":1,"k":2},"n":1}\n{"plain":1}\n');
  });
});

describe('predict flags', () => {
  async function predict(...args: string[]) {
    const cli = captureCli({ env: { REINFER_TOKEN: 'tok', REINFER_ENDPOINT: 'http://127.0.0.1:9' }, stdinText: '' });
    const code = await cli.run('predict', '--project', 'p', '--dataset', 'd', '--no-progress', ...args);
    return { code, err: cli.err() };
  }

  it('refuses --threshold 0x1, --label A=0.4=0.5 and the same --label twice', async () => {
    const hex = await predict('--threshold', '0x1');
    expect(hex.code).toBe(EXIT.usage);
    expect(hex.err).toMatch(/--threshold must be a number from 0 to 1 \(got "0x1"\)/);
    const twoEquals = await predict('--label', 'A=0.4=0.5');
    expect(twoEquals.code).toBe(EXIT.usage);
    expect(twoEquals.err).toMatch(/--label takes NAME or NAME=THRESHOLD, with one "="/);
    const twice = await predict('--label', 'A > B', '--label', 'A>B=0.3');
    expect(twice.code).toBe(EXIT.usage);
    expect(twice.err).toMatch(/--label.*same label as labels\[0\] \("A > B"\)/);
    expect((await predict('--batch-size', '0x10')).code).toBe(EXIT.usage);
  });
});
