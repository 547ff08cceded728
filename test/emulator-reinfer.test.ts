/** Contract tests of the Reinfer emulator over HTTP: every route, every documented error body. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startEmulator, type Emulator } from '../src/emulator/index.js';

let emulator: Emulator;
const TOKEN = 'emulator-reinfer-token';
const BASE = '/api/v1/datasets/project1/collateral/labellers';

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, reinfer: { tokens: [TOKEN] } });
});
afterAll(async () => {
  await emulator.close();
});

async function call(method: 'GET' | 'POST', path: string, body?: unknown, token: string | null = TOKEN) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await request(`${emulator.url}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: JSON.parse(text) as Record<string, any> };
}

// The curl example of seed 002, byte for byte.
const SEED_PREDICT = {
  documents: [
    {
      messages: [
        {
          body: { text: 'Hi Bob,\n\nCould you send me the figures for today?' },
          from: 'alice@company.com',
          sent_at: '2020-01-09T16:34:45Z',
          signature: { text: 'Thanks,\nAlice' },
          subject: { text: 'Figures Request' },
          to: ['bob@organisation.org'],
        },
      ],
      timestamp: '2013-09-12T20:01:20.000000+00:00',
      user_properties: { 'string:City': 'London' },
    },
    {
      messages: [
        {
          body: { text: 'Alice,\n\nHere are the figures for today.' },
          from: 'bob@organisation.org',
          sent_at: '2020-01-09T16:44:45Z',
          signature: { text: 'Regards,\nBob' },
          subject: { text: 'Re: Figures Request' },
          to: ['alice@company.com'],
        },
      ],
      timestamp: '2011-12-12T10:04:30.000000+00:00',
      user_properties: { 'string:City': 'Bucharest' },
    },
  ],
  threshold: 0.25,
};

const SEED_RAW = {
  documents: [
    {
      raw_email: {
        body: { plain: 'Hi Bob,\n\nCould you send me the figures for today?\n\nThanks,\nAlice' },
        headers: {
          parsed: {
            Date: 'Thu, 09 Jan 2020 16:34:45 +0000',
            From: 'alice@company.com',
            'Message-ID': 'abcdef@company.com',
            References: '<01234@company.com> <56789@company.com>',
            Subject: 'Figures Request',
            To: 'bob@organisation.org',
          },
        },
      },
      user_properties: { 'string:City': 'London' },
    },
    {
      raw_email: {
        body: { html: '<p>Alice,</p><p>Here are the figures for today.</p><p>Regards,<br/>Bob</p>' },
        headers: {
          raw: 'Message-ID: 012345@company.com\nDate: Thu, 09 Jan 2020 16:44:45 +0000\nSubject: Re: Figures Request\nFrom: bob@organisation.org\nTo: alice@company.com',
        },
      },
      user_properties: { 'string:City': 'Bucharest' },
    },
  ],
  include_comments: false,
  threshold: 0.25,
  transform_tag: 'generic.0.CONVKER5',
};

describe('reinfer emulator: predict', () => {
  it('answers the seed example with index-aligned predictions, entities, label properties and the model', async () => {
    const { status, json } = await call('POST', `${BASE}/live/predict`, SEED_PREDICT);
    expect(status).toBe(200);
    expect(json.status).toBe('ok');
    expect(json.predictions).toHaveLength(2);
    expect(json.entities).toHaveLength(2);
    expect(json.label_properties).toHaveLength(2);
    expect(json.model).toEqual({ version: 5, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const names = json.predictions[0].map((l: { name: string[] }) => l.name.join(' > '));
    expect(names).toContain('Figures Request');
    for (const label of json.predictions.flat()) {
      expect(Array.isArray(label.name)).toBe(true);
      expect(label.probability).toBeGreaterThanOrEqual(0.25);
    }
    expect(json.label_properties[0].map((p: { property_name: string }) => p.property_name)).toEqual(['tone', 'quality_of_service']);
    // Deterministic: the same request gives the same answer.
    const again = await call('POST', `${BASE}/live/predict`, SEED_PREDICT);
    expect(again.text).toBe((await call('POST', `${BASE}/live/predict`, SEED_PREDICT)).text);
  });

  it('applies threshold "auto" with auto_thresholds, and the labels filter with per-label thresholds', async () => {
    const doc = { messages: [{ body: { text: 'My order is missing and the box was damaged. I want a refund.' } }] };
    const auto = await call('POST', `${BASE}/5/predict`, { documents: [doc], threshold: 'auto' });
    expect(auto.status).toBe(200);
    expect(auto.json.predictions[0].length).toBeGreaterThan(0);
    for (const label of auto.json.predictions[0]) expect(label.auto_thresholds).toContain('high_recall');
    const all = await call('POST', `${BASE}/5/predict`, { documents: [doc], threshold: 0 });
    const parent = all.json.predictions[0].find((l: { name: string[] }) => l.name.join() === 'Order');
    const filtered = await call('POST', `${BASE}/5/predict`, {
      documents: [doc],
      threshold: 0,
      labels: [{ name: ['Order', 'Missing'] }, { name: ['Order'], threshold: Math.min(1, parent.probability + 0.01) }],
    });
    expect(filtered.json.predictions[0].map((l: { name: string[] }) => l.name.join(' > '))).toEqual(['Order > Missing']);
  });

  it('finds entities with char (code point) and UTF-16 byte spans', async () => {
    const text = 'Héllo 😀 order ORD-123456, write to Bob.Smith@Example.com on 2025-03-04';
    const { json } = await call('POST', `${BASE}/live/predict`, { documents: [{ messages: [{ subject: { text: 'x' }, body: { text } }] }] });
    const entities = json.entities[0];
    const byKind = Object.fromEntries(entities.map((e: { kind: string }) => [e.kind, e]));
    expect(Object.keys(byKind).sort()).toEqual(['date', 'email_address', 'order_number']);
    const order = byKind.order_number;
    expect(order.formatted_value).toBe('ORD-123456');
    const unitStart = text.indexOf('ORD-');
    expect(order.span).toEqual({
      content_part: 'body',
      message_index: 0,
      char_start: unitStart - 1, // the emoji is two UTF-16 units but one code point
      char_end: unitStart - 1 + 10,
      utf16_byte_start: unitStart * 2,
      utf16_byte_end: (unitStart + 10) * 2,
    });
    expect(order.spans).toEqual([order.span]);
    expect(byKind.email_address.formatted_value).toBe('bob.smith@example.com');
  });

  it('refuses bad requests with {status:"error", message} naming the document index', async () => {
    const good = { messages: [{ body: { text: 'hi' } }] };
    const cases: Array<[unknown, number, RegExp]> = [
      [{ documents: Array.from({ length: 4097 }, () => good) }, 400, /4097/],
      [{ documents: [good, { timestamp: '2020-01-01T00:00:00Z' }] }, 400, /documents\[1\]\.messages is required/],
      [{ documents: [good, good, { messages: [{ body: { text: 'x'.repeat(65_537) } }] }] }, 400, /documents\[2\]\.messages\[0\]\.body\.text: must be at most 65536 characters \(got 65537\)/],
      [{ documents: [{ messages: Array.from({ length: 2049 }, () => ({ body: { text: 'a' } })) }] }, 400, /documents\[0\]\.messages: must hold 1\.\.2048 items \(got 2049\)/],
      [{ documents: [{ ...good, user_properties: { City: 'London' } }] }, 400, /documents\[0\]\.user_properties\.City: the key must start with "string:" or "number:"/],
      [{ documents: [good, { ...good, timestamp: 'yesterday' }] }, 422, /documents\[1\]\.timestamp/],
      [{ documents: [good], threshold: 2 }, 400, /threshold/],
      [{ documents: [good], labels: [{ name: 'Order' }] }, 400, /labels\[0\]\.name/],
      [{ nothing: true }, 400, /documents is required/],
      ['{not json', 400, /not valid JSON/],
    ];
    for (const [body, status, message] of cases) {
      const res = await call('POST', `${BASE}/live/predict`, body);
      expect(res.status, JSON.stringify(res.json)).toBe(status);
      expect(res.json.status).toBe('error');
      expect(res.json.message).toMatch(message);
      expect(Object.keys(res.json).sort()).toEqual(['message', 'status']);
    }
    // 4096 documents is the limit, not over it.
    expect((await call('POST', `${BASE}/live/predict`, { documents: Array.from({ length: 4096 }, () => good) })).status).toBe(200);
  });

  it('requires a bearer token (401) and a known version (404)', async () => {
    const missing = await call('POST', `${BASE}/live/predict`, SEED_PREDICT, null);
    expect(missing.status).toBe(401);
    expect(missing.json).toEqual({ status: 'error', message: expect.stringContaining('Authorization: Bearer') });
    const wrong = await call('POST', `${BASE}/live/predict`, SEED_PREDICT, 'wrong-token-123');
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain('wrong-token-123');
    for (const version of ['nope', '99', '0', 'latest']) {
      const res = await call('POST', `${BASE}/${version}/predict`, SEED_PREDICT);
      expect(res.status).toBe(404);
      expect(res.json).toEqual({ status: 'error', message: `Model version '${version}' not found for dataset 'project1/collateral'` });
    }
    expect((await call('POST', `${BASE}/staging/predict`, SEED_PREDICT)).json.model.version).toBe(6);
    expect((await call('POST', `${BASE}/3/predict`, SEED_PREDICT)).json.model.version).toBe(3);
  });
});

describe('reinfer emulator: predict-raw-emails', () => {
  it('parses plain/HTML bodies and parsed/raw headers, and returns comments when asked', async () => {
    const plain = await call('POST', `${BASE}/live/predict-raw-emails`, SEED_RAW);
    expect(plain.status).toBe(200);
    expect(plain.json.predictions).toHaveLength(2);
    expect(plain.json.comments).toBeUndefined();
    const withComments = await call('POST', `${BASE}/live/predict-raw-emails`, { ...SEED_RAW, include_comments: true });
    const [first, second] = withComments.json.comments;
    expect(first.id).toBe('abcdef@company.com');
    expect(first.messages[0]).toMatchObject({ subject: { text: 'Figures Request' }, body: { text: 'Hi Bob,\n\nCould you send me the figures for today?' }, signature: { text: 'Thanks,\nAlice' } });
    expect(first.timestamp).toBe('2020-01-09T16:34:45.000Z');
    expect(first.user_properties).toMatchObject({ 'string:City': 'London', 'string:Sender Domain': 'company.com', 'number:Thread Length': 3 });
    expect(second.id).toBe('012345@company.com');
    expect(second.messages[0].body.text).toBe('Alice,\n\nHere are the figures for today.');
    expect(second.messages[0].signature.text).toBe('Regards,\nBob');
    expect(second.messages[0].from).toBe('bob@organisation.org');
  });

  it('requires transform_tag, and refuses conflicting generated user properties with 422', async () => {
    const { transform_tag: _, ...noTag } = SEED_RAW;
    const missing = await call('POST', `${BASE}/live/predict-raw-emails`, noTag);
    expect(missing.status).toBe(400);
    expect(missing.json.message).toMatch(/transform_tag is required/);
    const conflict = structuredClone(SEED_RAW);
    conflict.documents[1].user_properties = { 'string:Sender Domain': 'elsewhere.org' } as never;
    const res = await call('POST', `${BASE}/live/predict-raw-emails`, conflict);
    expect(res.status).toBe(422);
    expect(res.json.message).toMatch(/documents\[1\]\.user_properties\["string:Sender Domain"\] conflicts/);
  });
});

describe('reinfer emulator: predict-comments and validation', () => {
  it('answers from the seeded comment store by uid', async () => {
    const uids = emulator.reinfer.commentUids(3);
    expect(uids[0]).toMatch(/^[0-9a-f]{16}\.0001$/);
    const { status, json } = await call('POST', `${BASE}/live/predict-comments`, { uids, threshold: 0.25 });
    expect(status).toBe(200);
    expect(json.model.version).toBe(5);
    expect(json.predictions.map((p: { uid: string }) => p.uid)).toEqual(uids);
    for (const p of json.predictions) expect(Object.keys(p).sort()).toEqual(['entities', 'label_properties', 'labels', 'uid']);
    const unknown = await call('POST', `${BASE}/live/predict-comments`, { uids: [uids[0], 'ffff.9999'] });
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toMatch(/uids\[1\]/);
    const malformed = await call('POST', `${BASE}/live/predict-comments`, { uids: ['no-dot'] });
    expect(malformed.status).toBe(400);
  });

  it('answers the seed curl example of predict-comments', async () => {
    const { status, json } = await call('POST', `${BASE}/live/predict-comments`, { threshold: 0.25, uids: ['18ba5ce699f8da1f.0001', '18ba5ce699f8da1f.0002'] });
    expect(status).toBe(200);
    expect(json.status).toBe('ok');
    expect(json.predictions.map((p: { uid: string }) => p.uid)).toEqual(['18ba5ce699f8da1f.0001', '18ba5ce699f8da1f.0002']);
  });

  it('serves validation for integer, live, staging and latest versions', async () => {
    const latest = await call('GET', `${BASE}/latest/validation`);
    expect(latest.status).toBe(200);
    const v = latest.json.validation;
    expect(v.version).toBe(6);
    expect(v.num_labels).toBe(v.labels.length);
    expect(v.labels).toContainEqual({ name: 'Order > Missing', parts: ['Order', 'Missing'] });
    expect(v.labels).toContainEqual({ name: 'Order', parts: ['Order'] });
    expect(['poor', 'average', 'good', 'excellent']).toContain(v.dataset_quality);
    expect((await call('GET', `${BASE}/live/validation`)).json.validation.version).toBe(5);
    expect((await call('GET', `${BASE}/2/validation`)).json.validation.version).toBe(2);
    expect((await call('GET', `${BASE}/7/validation`)).status).toBe(404);
    expect((await call('GET', `${BASE}/latest/validation`, undefined, null)).status).toBe(401);
  });
});

describe('reinfer emulator: latency model, concurrency limit and faults', () => {
  it('answers 429 with Retry-After above maxConcurrent, and applies latencyMs + perDocumentMs', async () => {
    emulator.reinfer.configure({ latencyMs: 150, perDocumentMs: 10, maxConcurrent: 2, retryAfterMs: 1500 });
    try {
      const started = Date.now();
      const results = await Promise.all([0, 1, 2].map(() => call('POST', `${BASE}/live/predict`, SEED_PREDICT)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 200, 429]);
      const limited = results.find((r) => r.status === 429)!;
      expect(limited.headers['retry-after']).toBe('2');
      expect(limited.headers['retry-after-ms']).toBe('1500');
      expect(limited.json.status).toBe('error');
      expect(Date.now() - started).toBeGreaterThanOrEqual(160);
      expect(emulator.stats()['reinfer.predict'].statuses['429']).toBeGreaterThanOrEqual(1);
    } finally {
      emulator.reinfer.configure({ latencyMs: 0, perDocumentMs: 0, maxConcurrent: Infinity, retryAfterMs: 1000 });
    }
  });

  it('injects faults on reinfer routes and records what each request asked for', async () => {
    emulator.injectFault('503', { route: 'reinfer.predict' });
    const failed = await call('POST', `${BASE}/live/predict`, SEED_PREDICT);
    expect(failed.status).toBe(503);
    expect(failed.json.status).toBe('error');
    await call('POST', `${BASE}/live/predict`, { ...SEED_PREDICT, threshold: 0.4, labels: [{ name: ['Order'] }] });
    expect(emulator.reinfer.requests().at(-1)).toMatchObject({ route: 'reinfer.predict', version: 'live', count: 2, threshold: 0.4, labels: [{ name: ['Order'] }] });
  });
});
