/**
 * The predict batch's bytes (issue 18): a batch keeps its inputs' wire forms as UTF-8 bytes in
 * one Buffer (ASCII ones copied as Latin-1), and a refused batch's halves are sub-ranges of them.
 * Differential: whatever the text, every body sent is byte for byte what the former path (each
 * wire string kept and joined by commas) made, for whole batches and for bisected parts, and the
 * outputs come back one per input, in order, failures in place.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonText } from '../src/core/json-text.js';
import { InputBatch } from '../src/reinfer/input-batch.js';
import { predictComments, predictDocuments, type PredictionResult } from '../src/reinfer/index.js';
import { run } from './reinfer-helpers.js';

/** Seeded generator (same LCG as the other fuzz tests): a failure replays. */
function seeded(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** Text that is hard on an encoder: multi-byte, 4-byte, lone surrogates, NUL, quotes, backslashes, controls. */
const HOSTILE_TEXTS = [
  'plain ascii',
  '',
  'Café crème, naïve',
  'Größe 10 € — “quoted”',
  '注文 ORD-100001 が届きません',
  'emoji 😀👍🏽',
  'lone high \ud800 here',
  'lone low \udc00',
  'ends with high \ud83d',
  'NUL \u0000 in the middle',
  'quote " and backslash \\ and slash /',
  'controls \b\f\n\r\t\u001f',
  '\u2028 line and paragraph \u2029 separators',
  'Latin-1 only: ÿ þ ñ',
  'x'.repeat(3000),
];

function randomText(random: () => number): string {
  const parts = 1 + Math.floor(random() * 3);
  let text = '';
  for (let i = 0; i < parts; i++) text += HOSTILE_TEXTS[Math.floor(random() * HOSTILE_TEXTS.length)];
  return text;
}

describe('InputBatch bytes vs the wire strings joined (seeded)', () => {
  it('every range of sendable inputs reads back as their wire forms joined by commas, through growth and unsendable inputs', () => {
    const random = seeded(18);
    for (let round = 0; round < 200; round++) {
      const batch = new InputBatch(1000, Math.floor(random() * 4096));
      const wires: string[] = [];
      const sendable: unknown[] = [];
      const all: unknown[] = [];
      const count = Math.floor(random() * 60);
      for (let i = 0; i < count; i++) {
        const input = { n: i };
        all.push(input);
        if (random() < 0.1) {
          batch.addUnsendable(input, 'bad');
          continue;
        }
        const wire = JSON.stringify({ messages: [{ body: { text: randomText(random) } }] });
        // Kept text (a JsonText's) is not escaped like JSON.stringify's output: raw characters too.
        const asRead = random() < 0.3 ? `{"messages":[{"body":{"text":"${randomText(random).replace(/["\\\u0000-\u001f]/g, '')}"}}]}` : wire;
        wires.push(asRead);
        sendable.push(input);
        batch.add(input, asRead, Buffer.byteLength(asRead));
      }
      expect(batch.inputs).toEqual(all);
      expect(batch.sendableCount).toBe(wires.length);
      expect(batch.size).toBe(wires.reduce((sum, wire) => sum + Buffer.byteLength(wire) + 1, 0));
      for (let k = 0; k < 5; k++) {
        const from = Math.floor(random() * (wires.length + 1));
        const to = from + Math.floor(random() * (wires.length - from + 1));
        expect(batch.wireBytes(from, to).equals(Buffer.from(wires.slice(from, to).join(','), 'utf8'))).toBe(true);
        expect(batch.sendableInputs(from, to)).toEqual(sendable.slice(from, to));
      }
      expect(batch.wireBytes(0, wires.length).equals(Buffer.from(wires.join(','), 'utf8'))).toBe(true);
    }
  });
});

describe('bodies over the wire vs the former path (seeded, with refusals)', () => {
  let server: Server;
  let url: string;
  /** Every request body as received. */
  const bodies: Buffer[] = [];
  // Refuses (422) any request carrying a document whose text holds REFUSE; else one prediction a
  // document naming its `#k` tag, so each output can be matched to the document it answers.
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        bodies.push(raw);
        const body = JSON.parse(raw.toString('utf8')) as { documents?: Array<{ messages: Array<{ body: { text: string } }> }>; uids?: string[] };
        if (body.uids) {
          const predictions = body.uids.map((uid) => ({ uid, labels: [{ name: ['Uid', uid], probability: 0.5 }] }));
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', predictions, model: { version: 1, time: 't' } }));
          return;
        }
        const documents = body.documents!;
        const bad = documents.find((d) => d.messages[0].body.text.includes('REFUSE'));
        if (bad) {
          // Named after the refused document: refusals of different documents read differently, as a real server's do.
          const message = `bad document ${/#\d+/.exec(bad.messages[0].body.text)![0]}`;
          res.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', message }));
          return;
        }
        const predictions = documents.map((d) => [{ name: ['Tag', /#\d+/.exec(d.messages[0].body.text)![0]], probability: 0.9 }]);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', predictions, model: { version: 1, time: 't' } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const connection = () => ({ endpoint: url, token: 't', project: 'p', dataset: 'd', retry: { baseDelayMs: 1, maxDelayMs: 5 } });

  /** The wire form as the former path made it: the JsonText's text, or JSON.stringify of the sent fields. */
  function formerWire(input: unknown): string {
    const value = (input instanceof JsonText ? input.value : input) as Record<string, unknown>;
    const onlySent = Object.keys(value).every((key) => ['messages', 'timestamp', 'user_properties', 'text_format'].includes(key));
    if (onlySent) return input instanceof JsonText ? input.text : JSON.stringify(value);
    const wire: Record<string, unknown> = { messages: value.messages };
    if (value.timestamp !== undefined) wire.timestamp = value.timestamp;
    if (value.user_properties !== undefined) wire.user_properties = value.user_properties;
    return JSON.stringify(wire);
  }

  it('predictDocuments: each body is the former bytes of the documents it carries; outputs in order, refusals and checks in place', async () => {
    const random = seeded(1818);
    for (let round = 0; round < 12; round++) {
      bodies.length = 0;
      const n = 1 + Math.floor(random() * 300);
      const inputs: unknown[] = [];
      const expected: Array<'ok' | 'refused' | 'unsendable'> = [];
      for (let k = 0; k < n; k++) {
        const roll = random();
        if (roll < 0.03) {
          inputs.push({ id: k, note: 'no messages' });
          expected.push('unsendable');
          continue;
        }
        const refused = roll < 0.06;
        const text = `${randomText(random)} #${k}${refused ? ' REFUSE' : ''}`;
        const doc: Record<string, unknown> = { messages: [{ body: { text } }] };
        if (random() < 0.5) doc.id = k;
        if (random() < 0.3) doc.user_properties = { 'string:Note': randomText(random).slice(0, 100) };
        // A JsonText input is sent as its text when nothing is left out (a big id keeps every digit).
        if (random() < 0.3) {
          const text = JSON.stringify(doc).replace(/}$/, random() < 0.5 ? ',"big":12345678901234567890}' : '}');
          inputs.push(new JsonText(text, JSON.parse(text)));
        } else inputs.push(doc);
        expected.push(refused ? 'refused' : 'ok');
      }
      const batchSize = 1 + Math.floor(random() * 64);
      const maxBatchBytes = 1024 + Math.floor(random() * 20_000);
      const out = await run<PredictionResult<unknown>>(
        predictDocuments({ ...connection(), batchSize, maxBatchBytes, concurrency: 1 + Math.floor(random() * 4), onError: 'emit' }),
        inputs,
      );

      expect(out.map((o) => o.input)).toEqual(inputs);
      out.forEach((output, k) => {
        if (expected[k] === 'ok') expect('labels' in output && output.labels[0].name[1]).toBe(`#${k}`);
        else expect('error' in output && output.index).toBe(k);
      });
      // Each body, whole batch or bisected part: `{"documents":[` + the former wire forms joined + `]}`.
      for (const body of bodies) {
        const tags = (JSON.parse(body.toString('utf8')) as { documents: Array<{ messages: Array<{ body: { text: string } }> }> }).documents.map((d) => Number(/#(\d+)/.exec(d.messages[0].body.text)![1]));
        const former = Buffer.from(`{"documents":[${tags.map((k) => formerWire(inputs[k])).join(',')}]}`, 'utf8');
        expect(body.equals(former)).toBe(true);
      }
    }
  });

  it('predictComments: uids sent as the former path did and matched back exactly, whatever their characters', async () => {
    const uids = ['src.plain', 'src.caf\u00e9', 'src.emoji\ud83d\ude00', 'src.lone\ud800', 'src.quote"and\\back', 'src.nul\u0000', 'src.x'.repeat(200)];
    bodies.length = 0;
    const inputs = [...uids, 'not a uid', ...uids.map((uid) => ({ uid }))];
    const out = await run<PredictionResult<unknown>>(predictComments({ ...connection(), batchSize: 5, onError: 'emit' }), inputs);
    expect(out.map((o) => o.input)).toEqual(inputs);
    expect(out.map((o) => ('uid' in o ? o.uid : 'error'))).toEqual([...uids, 'error', ...uids]);
    const sent = bodies.flatMap((body) => (JSON.parse(body.toString('utf8')) as { uids: string[] }).uids);
    expect(sent).toEqual([...uids, ...uids]);
    for (const body of bodies) {
      const batch = (JSON.parse(body.toString('utf8')) as { uids: string[] }).uids;
      expect(body.equals(Buffer.from(`{"uids":[${batch.map((uid) => JSON.stringify(uid)).join(',')}]}`, 'utf8'))).toBe(true);
    }
  });
});
