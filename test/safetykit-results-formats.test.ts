/**
 * importResults against a server written from API-NOTES alone, serving the results download as
 * JSONL, a JSON array or {"data": [...]}: every shape streams, and a record that is not an output
 * object (a null above all, which used to end the stream silently) is a ProtocolError naming it.
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../src/core/errors.js';
import { importResults, type OutputObject } from '../src/safetykit/index.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const outputs: OutputObject[] = Array.from({ length: 5 }, (_, i) => ({
  id: `obj-${i}`,
  output: { actions: [], fields: { note: `quote " and ] and } ${i}` }, labels: [{ label: i % 2 ? 'spam' : 'ok' }] },
  url: `https://app.example/obj-${i}`,
}));

/** Write `body` in small pieces, so records arrive split across chunks as over a real network. */
function writeInPieces(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const bytes = Buffer.from(body);
  for (let i = 0; i < bytes.length; i += 7) res.write(bytes.subarray(i, i + 7));
  res.end();
}

/** A SafetyKit API whose request `req-1` succeeded, with its results at a pre-signed URL on the same server. */
async function serveDownload(body: string, count = outputs.length): Promise<TestServer> {
  const server: TestServer = await startTestServer((req, res) => {
    if (req.url?.startsWith('/v1/data/ns/requests/req-1')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          request_id: 'req-1',
          namespace: 'ns',
          status: 'succeeded',
          data_url: `${server.url}/bucket/results?X-Amz-Signature=secret-signature`,
          data_count: count,
          data_expires_at: '2099-01-01T00:00:00Z',
        }),
      );
    } else if (req.url?.startsWith('/bucket/results')) {
      writeInPieces(res, body);
    } else {
      res.writeHead(404).end();
    }
  });
  return server;
}

async function readAll(server: TestServer, maxLineBytes?: number): Promise<{ items: OutputObject[]; error?: Error }> {
  const items: OutputObject[] = [];
  try {
    for await (const item of importResults({ baseUrl: server.url, apiKey: 'formats-key-1', namespace: 'ns', requestId: 'req-1', pollIntervalMs: 5, retry: false, maxLineBytes })) {
      items.push(item);
    }
    return { items };
  } catch (error) {
    return { items, error: error as Error };
  }
}

async function withDownload<T>(body: string, fn: (server: TestServer) => Promise<T>): Promise<T> {
  const server = await serveDownload(body);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

describe('importResults reads every download shape', () => {
  const shapes: Array<[string, string]> = [
    ['JSONL', `${outputs.map((o) => JSON.stringify(o)).join('\n')}\n`],
    ['a JSON array', JSON.stringify(outputs)],
    ['a pretty-printed JSON array', JSON.stringify(outputs, null, 2)],
    ['{"data": [...]}', JSON.stringify({ data: outputs })],
    ['{"data": [...]} with other keys, pretty-printed', JSON.stringify({ data: outputs, count: outputs.length, next: null }, null, 2)],
  ];
  for (const [name, body] of shapes) {
    it(`as ${name}`, async () => {
      const { items, error } = await withDownload(body, readAll);
      expect(error).toBeUndefined();
      expect(items).toEqual(outputs);
    });
  }

  it('streams a one-line {"data": [...]} element by element (maxLineBytes bounds each record, not the document)', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => ({ ...outputs[0], id: `obj-${i}` }));
    const body = JSON.stringify({ data: many });
    expect(body.length).toBeGreaterThan(100 * 4096);
    const { items, error } = await withDownload(body, (server) => readAll(server, 4096));
    expect(error).toBeUndefined();
    expect(items.map((o) => o.id)).toEqual(many.map((o) => o.id));
  });
});

describe('importResults refuses records that are not output objects', () => {
  const lines = outputs.map((o) => JSON.stringify(o));
  const cases: Array<[string, string, number, RegExp]> = [
    ['a null line in JSONL', `${lines[0]}\n${lines[1]}\nnull\n${lines[2]}\n`, 2, /results download \(JSONL\) is not usable: .*results:3: null/],
    ['a number line in JSONL', `${lines[0]}\n42\n${lines[1]}\n`, 1, /results:2: a number is not an object/],
    ['a null element in a JSON array', `[${lines[0]},\nnull,${lines[1]}]`, 1, /\(a JSON array\) is not usable: .*results:2 element \[1\]: null is not an object/],
    ['a string element in {"data": [...]}', `{"data": [${lines[0]}, ${lines[1]}, "obj-2"]}`, 2, /\{"data": \[\.\.\.\]\}\) is not usable: .*element \[2\]: a string is not an object/],
    ['an element without an id', `[${lines[0]}, {"output": {}}]`, 1, /element \[1\]: it is not an output object \(no string "id"\)/],
    ['a JSON array cut short', `[${lines[0]},${lines[1]},${lines[2].slice(0, 20)}`, 2, /input ended after element \[1\].*cut short/],
  ];
  for (const [name, body, emitted, message] of cases) {
    it(`${name}: ProtocolError naming where, after every record before it`, async () => {
      const { items, error } = await withDownload(body, readAll);
      expect(error).toBeInstanceOf(ProtocolError);
      expect(error!.message).toMatch(message);
      expect(error!.message).not.toContain('secret-signature');
      // Every record before the bad one arrives first (the error waits for them); none after it.
      expect(items).toEqual(outputs.slice(0, emitted));
    });
  }

  it('a null in an inline add answer: ProtocolError naming its index, before any record is emitted', async () => {
    const server = await startTestServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ request_id: 'req-1', namespace: 'ns', status: 'succeeded', data: [outputs[0], null, outputs[1]] })),
    );
    try {
      const { items, error } = await readAll(server);
      expect(error).toBeInstanceOf(ProtocolError);
      expect(error!.message).toMatch(/data\[1\] of request req-1: it is null/);
      expect(items).toEqual([]);
    } finally {
      await server.close();
    }
  });

});
