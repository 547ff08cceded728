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

  it('reads answers whose optional parts take the other documented shapes', async () => {
    server = await startTestServer((_req, res, body) => {
      const count = (JSON.parse(body.toString()) as { documents: unknown[] }).documents.length;
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          status: 'ok',
          // label name as a string, no entities at all, label_properties flat "for this comment"
          predictions: Array.from({ length: count }, () => [{ name: 'Billing > Refund', probability: 0.8 }]),
          label_properties: [{ property_id: 'p1', property_name: 'tone', value: -0.5 }],
          sentiment: 0.25,
          model: null,
        }),
      );
    });
    const [single] = (await collect(predictDocuments({ ...options(server.url), batchSize: 1 }), documents(1))) as Array<Record<string, unknown>>;
    expect(single).toMatchObject({ entities: [], sentiment: 0.25, model: null });
    expect(single.labelProperties).toHaveLength(1);
    expect((single.labels as Array<{ name: string[]; fullName: string }>)[0]).toMatchObject({ name: ['Billing', 'Refund'], fullName: 'Billing > Refund' });

    const many = (await collect(predictDocuments(options(server.url)), documents(3))) as Array<Record<string, unknown>>;
    expect(many).toHaveLength(3);
    // A flat array cannot be attributed to one of several documents: it is left out, not misassigned.
    for (const output of many) expect(output).toMatchObject({ labelProperties: [], entities: [] });
  });
});
