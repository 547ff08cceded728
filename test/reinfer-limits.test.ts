/**
 * The vendor's published request limits (OpenAPI 2.0 of v1 predict / predict-raw-emails), over
 * real HTTP: each case a new user tried is (a) refused by our client without a request (counted
 * at the emulator) and (b) answered 400 naming the field by the emulator when sent raw. Values
 * exactly at a limit pass both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { ConfigError } from '../src/core/errors.js';
import { predictComments, predictDocuments, predictRawEmails, type PredictionResult } from '../src/reinfer/index.js';
import { conn, run } from './reinfer-helpers.js';
import { reply, startTestServer } from './helpers/server.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(async () => {
  await emulator.close();
});

const BASE = '/api/v1/datasets/acme/emails/labellers/live';
const requestsTo = (route: string) => emulator.stats()[`reinfer.${route}`]?.requests ?? 0;

async function post(route: string, body: unknown): Promise<{ status: number; json: { status: string; message?: string } }> {
  const res = await request(`${emulator.url}${BASE}/${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${emulator.env.REINFER_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as { status: string; message?: string } };
}

const message = (extra: Record<string, unknown> = {}) => ({ body: { text: 'Where is my order?' }, ...extra });
const document = (messageExtra: Record<string, unknown> = {}, documentExtra: Record<string, unknown> = {}) => ({ messages: [message(messageExtra)], ...documentExtra });
const address = (n: number) => `${'a'.repeat(n - 12)}@example.com`;

/** [case, document, the field path and rule the error must name]. */
const BAD_DOCUMENTS: Array<[string, Record<string, unknown>, RegExp]> = [
  ['from: ""', document({ from: '' }), /messages\[0\]\.from: must be 1\.\.512 characters \(got 0\)/],
  ['a 600-character from', document({ from: address(600) }), /messages\[0\]\.from: must be 1\.\.512 characters \(got 600\)/],
  ['3000 to addresses', document({ to: Array.from({ length: 3000 }, (_, i) => `to${i}@example.com`) }), /messages\[0\]\.to: must hold at most 2048 items \(got 3000\)/],
  ['a 600-character cc address', document({ cc: ['ok@example.com', address(600)] }), /messages\[0\]\.cc\[1\]: must be 1\.\.512 characters \(got 600\)/],
  ['a 12-character language', document({ language: 'en-GB-oxford' }), /messages\[0\]\.language: must be 1\.\.8 characters \(got 12\)/],
  ['text_format "html"', document({}, { text_format: 'html' }), /text_format: must be "markdown" or "plain" \(got "html"\)/],
  ['a message without body', { messages: [{ subject: { text: 'Hi' }, from: 'a@example.com' }] }, /messages\[0\]\.body is required/],
  ['a subject without text', document({ subject: { translated_from: 'Hola' } }), /messages\[0\]\.subject\.text is required/],
  ['a 65,537-character translated_from', document({ body: { text: 'hi', translated_from: 'x'.repeat(65_537) } }), /messages\[0\]\.body\.translated_from: must be at most 65536 characters \(got 65537\)/],
  ['an unknown message key', document({ attachments: [] }), /messages\[0\]\.attachments: is not a known field/],
  ['a numeric sent_at', document({ sent_at: 1578587685 }), /messages\[0\]\.sent_at: must be a string \(got number\)/],
  ['no messages', { messages: [] }, /messages: must hold 1\.\.2048 items \(got 0\)/],
];

/** Every limit exactly reached. */
const EDGE_DOCUMENT = {
  messages: [
    {
      body: { text: 'x'.repeat(65_536), translated_from: 'y'.repeat(65_536) },
      subject: { text: 'Subject' },
      signature: { text: 'Thanks' },
      from: address(512),
      to: Array.from({ length: 2048 }, () => address(512)),
      cc: [address(1 + 12)],
      bcc: [],
      sent_at: '2020-01-09T16:34:45Z',
      language: 'en-GB-xx',
    },
    // 65,536 characters that are 65,537 UTF-16 units: the limit counts characters.
    { body: { text: `${'a'.repeat(65_535)}😀` } },
    ...Array.from({ length: 2046 }, () => ({ body: { text: 'a' } })),
  ],
  timestamp: '2020-01-09T16:34:45.000Z',
  user_properties: { 'string:City': 'London', 'number:Age': 3 },
  text_format: 'markdown',
};

const rawEmail = (extra: Record<string, unknown> = {}) => ({
  raw_email: { headers: { parsed: { From: 'alice@company.com', Subject: 'Figures' } }, body: { plain: 'Hi Bob,\n\nThe figures?' }, ...extra },
});
const attachments = (n: number, name = 'a.pdf') => Array.from({ length: n }, () => ({ name, size: 1024, content_type: 'application/pdf' }));

const BAD_RAW_EMAILS: Array<[string, Record<string, unknown>, RegExp]> = [
  ['200 attachments', rawEmail({ attachments: attachments(200) }), /raw_email\.attachments: must hold at most 128 items \(got 200\)/],
  ['a 300-character attachment name', rawEmail({ attachments: attachments(1, 'n'.repeat(300)) }), /raw_email\.attachments\[0\]\.name: must be at most 256 characters \(got 300\)/],
  ['a negative attachment size', rawEmail({ attachments: [{ name: 'a', size: -1, content_type: 'text/plain' }] }), /raw_email\.attachments\[0\]\.size: must be an integer ≥ 0 \(got -1\)/],
  ['no body', { raw_email: { headers: { raw: 'From: a@b.c' } } }, /raw_email\.body is required/],
  ['a 65,537-character header block', rawEmail({ headers: { raw: `Subject: ${'x'.repeat(65_528)}` } }), /raw_email\.headers\.raw: must be at most 65536 characters \(got 65537\)/],
  ['a 65,537-character plain body', rawEmail({ body: { plain: 'x'.repeat(65_537) } }), /raw_email\.body\.plain: must be at most 65536 characters \(got 65537\)/],
];

const EDGE_RAW_EMAIL = rawEmail({
  headers: { raw: `From: alice@company.com\r\nSubject: ${'x'.repeat(65_536 - 34)}` },
  body: { plain: 'p'.repeat(65_536), html: `<p>${'h'.repeat(100)}</p>` },
  attachments: Array.from({ length: 128 }, () => ({ name: 'n'.repeat(256), size: 0, content_type: 'c'.repeat(256) })),
});

describe('published limits: documents (predict)', () => {
  it.each(BAD_DOCUMENTS)('the client emits an error for %s and never sends it', async (_name, bad, field) => {
    const before = requestsTo('predict');
    const out = await run<PredictionResult<unknown>>(predictDocuments({ ...conn(emulator), onError: 'emit' }), [bad]);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ index: 0, input: bad });
    expect((out[0] as { error: Error }).error.message).toMatch(field);
    expect(requestsTo('predict')).toBe(before);
  });

  it.each(BAD_DOCUMENTS)('the emulator answers 400 naming the field for %s', async (_name, bad, field) => {
    const res = await post('predict', { documents: [document(), bad] });
    expect(res.status).toBe(400);
    expect(res.json.status).toBe('error');
    expect(res.json.message).toMatch(/^documents\[1\]\./);
    expect(res.json.message).toMatch(field);
  });

  it('a bad document among good ones: only the good ones are sent, each output in place', async () => {
    const before = requestsTo('predict');
    const inputs = [document(), BAD_DOCUMENTS[1][1], document(), BAD_DOCUMENTS[4][1]];
    const out = await run<PredictionResult<unknown>>(predictDocuments({ ...conn(emulator), onError: 'emit' }), inputs);
    expect(out.map((o) => ('error' in o ? `bad ${o.index}` : 'ok'))).toEqual(['ok', 'bad 1', 'ok', 'bad 3']);
    expect(requestsTo('predict')).toBe(before + 1);
    expect(emulator.reinfer.requests().at(-1)!.count).toBe(2);
  });

  it('values exactly at every limit pass the client and the emulator', async () => {
    const out = await run<PredictionResult<unknown>>(predictDocuments({ ...conn(emulator), onError: 'emit' }), [EDGE_DOCUMENT, document({}, { text_format: 'plain' })]);
    expect(out.map((o) => ('error' in o ? o.error.message : 'ok'))).toEqual(['ok', 'ok']);
    const res = await post('predict', { documents: [EDGE_DOCUMENT] });
    expect(res.json.message).toBeUndefined();
    expect(res.status).toBe(200);
  });

  it('sends text_format with the document, and still leaves other extra fields out', async () => {
    const server = await startTestServer(reply(200, { status: 'ok', predictions: [[]], model: null }));
    try {
      await run(predictDocuments({ ...conn(emulator), endpoint: server.url }), [document({}, { text_format: 'plain', id: 'kept on the output only' })]);
      const sent = JSON.parse(server.requests[0].body.toString('utf8')) as { documents: unknown[] };
      expect(sent.documents).toEqual([{ messages: [message()], text_format: 'plain' }]);
    } finally {
      await server.close();
    }
  });
});

describe('published limits: raw emails (predict-raw-emails)', () => {
  const options = () => ({ ...conn(emulator), transformTag: 'generic.0.CONVKER5', onError: 'emit' as const });

  it.each(BAD_RAW_EMAILS)('the client emits an error for %s and never sends it', async (_name, bad, field) => {
    const before = requestsTo('predict-raw-emails');
    const out = await run<PredictionResult<unknown>>(predictRawEmails(options()), [bad]);
    expect((out[0] as { error: Error }).error.message).toMatch(field);
    expect(requestsTo('predict-raw-emails')).toBe(before);
  });

  it.each(BAD_RAW_EMAILS)('the emulator answers 400 naming the field for %s', async (_name, bad, field) => {
    const res = await post('predict-raw-emails', { transform_tag: 'generic.0.CONVKER5', documents: [rawEmail(), bad] });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/^documents\[1\]\./);
    expect(res.json.message).toMatch(field);
  });

  it('an HTML body over 33,554,432 characters is refused before sending', async () => {
    const before = requestsTo('predict-raw-emails');
    const out = await run<PredictionResult<unknown>>(predictRawEmails(options()), [rawEmail({ body: { html: 'h'.repeat(33_554_433) } })]);
    expect((out[0] as { error: Error }).error.message).toMatch(/raw_email\.body\.html: must be at most 33554432 characters \(got 33554433\)/);
    expect(requestsTo('predict-raw-emails')).toBe(before);
  });

  it('the emulator refuses a non-boolean include_comments and an empty transform_tag, naming them', async () => {
    expect((await post('predict-raw-emails', { transform_tag: 'generic.0.CONVKER5', include_comments: 'yes', documents: [rawEmail()] })).json.message).toMatch(/^include_comments: must be true or false/);
    expect((await post('predict-raw-emails', { transform_tag: '', documents: [rawEmail()] })).json.message).toMatch(/^transform_tag: must be at least 1 characters/);
  });

  it('values exactly at every limit pass the client and the emulator', async () => {
    const out = await run<PredictionResult<unknown>>(predictRawEmails(options()), [EDGE_RAW_EMAIL]);
    expect(out.map((o) => ('error' in o ? o.error.message : 'ok'))).toEqual(['ok']);
    const res = await post('predict-raw-emails', { transform_tag: 'generic.0.CONVKER5', documents: [EDGE_RAW_EMAIL] });
    expect(res.json.message).toBeUndefined();
    expect(res.status).toBe(200);
  });
});

describe('published limits: the labels option', () => {
  const longName = 'L'.repeat(70);

  it('a 70-character label name part is a ConfigError naming it, before any request (array and "A > B" forms)', () => {
    for (const name of [['Order', longName], `Order > ${longName}`]) {
      let error: unknown;
      try {
        predictDocuments({ ...conn(emulator), labels: [{ name: ['Billing'] }, { name }] });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe('labels[1].name[1]');
      expect((error as ConfigError).message).toMatch(/must be 1\.\.64 characters \(got 70\)/);
    }
    expect(() => predictComments({ ...conn(emulator), labels: Array.from({ length: 4097 }, () => ({ name: ['A'] })) })).toThrow(/"labels": must hold at most 4096 items \(got 4097\)/);
    expect(() => predictDocuments({ ...conn(emulator), labels: [{ name: Array.from({ length: 65 }, () => 'p') }] })).toThrow(/"labels\[0\]\.name": must hold 1\.\.64 items \(got 65\)/);
    expect(() => predictDocuments({ ...conn(emulator), labels: [{ name: 'A', threshold: 1.5 }] })).toThrow(/"labels\[0\]\.threshold": must be a number from 0 to 1 \(got 1\.5\)/);
  });

  it('the emulator answers 400 naming the label on predict, predict-raw-emails and predict-comments', async () => {
    const labels = [{ name: ['Billing'] }, { name: ['Order', longName] }];
    const bodies: Array<[string, Record<string, unknown>]> = [
      ['predict', { documents: [document()], labels }],
      ['predict-raw-emails', { transform_tag: 'generic.0.CONVKER5', documents: [rawEmail()], labels }],
      ['predict-comments', { uids: emulator.reinfer.commentUids(2), labels }],
    ];
    for (const [route, body] of bodies) {
      const res = await post(route, body);
      expect(res.status, route).toBe(400);
      expect(res.json).toEqual({ status: 'error', message: 'labels[1].name[1]: must be 1..64 characters (got 70)' });
    }
    const tooMany = await post('predict-comments', { uids: emulator.reinfer.commentUids(1), labels: Array.from({ length: 4097 }, () => ({ name: ['A'] })) });
    expect(tooMany.json.message).toMatch(/^labels: must hold at most 4096 items \(got 4097\)/);
    const uids = await post('predict-comments', { uids: Array.from({ length: 4097 }, () => emulator.reinfer.commentUids(1)[0]) });
    expect(uids.status).toBe(400);
    expect(uids.json.message).toMatch(/4097/);
  });

  it('4096 labels of 64 parts of 64 characters pass the client and the emulator', async () => {
    const part = 'p'.repeat(64);
    const labels = Array.from({ length: 4096 }, (_, i) => ({ name: [String(i).padStart(64, '0'), ...Array.from({ length: 63 }, () => part)], threshold: i % 2 }));
    const out = await run<PredictionResult<unknown>>(predictDocuments({ ...conn(emulator), labels, onError: 'emit' }), [document()]);
    expect(out.map((o) => ('error' in o ? o.error.message : 'ok'))).toEqual(['ok']);
    expect((await post('predict', { documents: [document()], labels })).status).toBe(200);
  });
});
