/**
 * The Reinfer transforms against a server written from seed 002 and API-NOTES alone (not our
 * emulator): refusals of a whole request versus refusals of some documents.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../src/core/errors.js';
import { predictDocuments } from '../src/reinfer/index.js';
import { rejection } from './helpers/rejection.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const documents = (n: number, bad: number[] = []) =>
  Array.from({ length: n }, (_, i) => ({ id: `doc-${i}`, messages: [{ body: { text: bad.includes(i) ? 'BAD' : `hello ${i}` } }] }));

async function collect(stream: NodeJS.ReadWriteStream, input: unknown[]): Promise<unknown[]> {
  const out: unknown[] = [];
  await pipeline(Readable.from(input), stream, async (source: AsyncIterable<unknown>) => {
    for await (const value of source) out.push(value);
  });
  return out;
}

const options = (url: string) => ({ endpoint: url, token: 'independent-token-3', project: 'p', dataset: 'd', version: 'live' as const, batchSize: 64, retry: false as const });

describe('predictDocuments against an independent server', () => {
  it('fails at once with the server message when the request itself is refused (no storm)', async () => {
    server = await startTestServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', message: 'Unknown label: Nope' }));
    });
    for (const onError of ['throw', 'emit'] as const) {
      const before = server.requests.length;
      const error = await rejection(collect(predictDocuments({ ...options(server.url), labels: [{ name: ['Nope'] }], onError }), documents(64)));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.message).toContain('Unknown label: Nope');
      // the batch, its two halves, and one document alone
      expect(server.requests.length - before).toBeLessThanOrEqual(4);
    }
  });

  it('still isolates bad documents whose refusals all read alike', async () => {
    server = await startTestServer((_req, res, body) => {
      const request = JSON.parse(body.toString()) as { documents: Array<{ messages: Array<{ body: { text: string } }> }> };
      const texts = request.documents.map((d) => d.messages[0].body.text);
      if (texts.includes('BAD')) {
        res.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', message: 'a document is invalid' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ status: 'ok', predictions: texts.map(() => [{ name: ['Greeting'], probability: 0.9 }]), model: { version: 5, time: '2026-01-01T00:00:00Z' } }),
      );
    });
    const out = (await collect(predictDocuments({ ...options(server.url), onError: 'emit' }), documents(64, [5, 40]))) as Array<{ input: { id: string }; error?: Error }>;
    expect(out.map((o) => o.input.id)).toEqual(documents(64).map((d) => d.id));
    expect(out.filter((o) => o.error).map((o) => o.input.id)).toEqual(['doc-5', 'doc-40']);
  });
});
