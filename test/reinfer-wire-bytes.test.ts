/**
 * The predict path's bytes (issue 18): the request body written item by item into one Buffer,
 * answers decoded as ASCII or UTF-8, and the output objects' keys, for any text.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictDocuments, type Prediction } from '../src/reinfer/index.js';
import { InputBatch } from '../src/reinfer/input-batch.js';
import { requestBody } from '../src/reinfer/request-body.js';
import { conn, reinferEmulatorPerFile, run } from './reinfer-helpers.js';

/** The wire forms written into one batch's bytes, as the stream writes them. */
const batchOf = (wires: string[]): InputBatch => {
  const batch = new InputBatch(0, 0);
  for (const wire of wires) batch.add(undefined, wire, Buffer.byteLength(wire));
  return batch;
};
const TEXTS = ['plain ascii', 'Café crème, naïve', 'Größe 10 € — “quoted”', '注文 ORD-100001 が届きません', 'emoji 😀👍🏽 and a lone \\u00e9', ''];

describe('requestBody', () => {
  it('is the bytes of head + the wire forms joined by commas + tail, for ASCII and multi-byte text', () => {
    const wires = TEXTS.map((text) => JSON.stringify({ messages: [{ body: { text } }] }));
    for (const count of [0, 1, 2, wires.length]) {
      const batch = batchOf(wires.slice(0, count));
      const body = requestBody(Buffer.from('{"documents":['), batch.wireBytes(0, count), Buffer.from('],"threshold":0.5}'));
      const expected = Buffer.from(`{"documents":[${wires.slice(0, count).join(',')}],"threshold":0.5}`, 'utf8');
      expect(body.equals(expected)).toBe(true);
      expect(JSON.parse(body.toString('utf8')).documents).toHaveLength(count);
    }
  });
});

describe('predictDocuments over the wire, any text', () => {
  const emulator = reinferEmulatorPerFile();

  it('sends multi-byte documents intact (the emulator parses every body) and keeps one output per input, in order', async () => {
    const inputs = Array.from({ length: 50 }, (_, i) => ({ id: i, messages: [{ body: { text: `${TEXTS[i % TEXTS.length]} ORD-${100000 + i}` } }] }));
    const out = await run<Prediction<(typeof inputs)[number]>>(predictDocuments({ ...conn(emulator()), batchSize: 7, concurrency: 3 }), inputs);
    expect(out.map((o) => o.input.id)).toEqual(inputs.map((d) => d.id));
    expect(out.every((o) => Array.isArray(o.labels))).toBe(true);
  });
});

describe('answers decoded as UTF-8 or ASCII', () => {
  let server: Server;
  let url: string;
  // Each document's answer names a label after the document's own text: a non-ASCII answer
  // must come back with every character, an ASCII one as is.
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const { documents } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { documents: Array<{ messages: Array<{ body: { text: string } }> }> };
        const body = JSON.stringify({
          status: 'ok',
          predictions: documents.map((d) => [{ name: ['Topic', d.messages[0].body.text], probability: 0.9, sentiment: 0.5 }, { name: ['Other'], probability: 0.3, auto_thresholds: ['high_recall'] }]),
          entities: documents.map(() => [{ id: 'e1', name: 'order_number', kind: 'order_number', formatted_value: 'ORD-1', probability: 0.8, span: { content_part: 'body', message_index: 0, char_start: 0, char_end: 5, utf16_byte_start: 0, utf16_byte_end: 10 } }]),
          model: { version: 1, time: '2026-01-01T00:00:00Z' },
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('keeps every character of the answer and the documented key order of each output object', async () => {
    const inputs = TEXTS.filter((t) => t.length > 0).map((text) => ({ messages: [{ body: { text } }] }));
    for (const batch of [[inputs[0]], inputs]) {
      const out = await run<Prediction<(typeof inputs)[number]>>(predictDocuments({ endpoint: url, token: 't', project: 'p', dataset: 'd', batchSize: 64 }), batch);
      expect(out.map((o) => o.labels[0].fullName)).toEqual(batch.map((d) => `Topic > ${d.messages[0].body.text}`));
      const [first] = out;
      expect(Object.keys(first)).toEqual(['input', 'labels', 'entities', 'labelProperties', 'sentiment', 'model']);
      expect(Object.keys(first.labels[0])).toEqual(['name', 'fullName', 'probability', 'sentiment']);
      expect(Object.keys(first.labels[1])).toEqual(['name', 'fullName', 'probability', 'autoThresholds']);
      expect(Object.keys(first.entities[0])).toEqual(['name', 'kind', 'formattedValue', 'probability', 'spans', 'id']);
      expect(first.entities[0].spans).toEqual([{ contentPart: 'body', messageIndex: 0, charStart: 0, charEnd: 5, utf16ByteStart: 0, utf16ByteEnd: 10 }]);
      expect(first.sentiment).toBe(0.5);
    }
  });
});
