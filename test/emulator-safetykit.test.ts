import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/index.js';

let emulator: Emulator;
const KEY = 'emulator-safetykit-key';
const auth = { authorization: `Bearer ${KEY}` };

beforeAll(async () => {
  emulator = await startEmulator({ safetykit: { queuedMs: 40, ingestingMs: 40, apiKeys: [KEY] } });
});
afterAll(() => emulator.close());

async function call(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, headers: Record<string, string> = auth) {
  const res = await request(path.startsWith('http') ? path : `${emulator.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json: json as Record<string, any> };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFinal(path: string) {
  for (let i = 0; i < 200; i++) {
    const answer = await call('GET', path);
    if (answer.json.status === 'succeeded' || answer.json.status === 'failed') return answer;
    await sleep(10);
  }
  throw new Error('never final');
}

async function importTicket(namespace = 'ns1', route = 'import') {
  const answer = await call('POST', `/v1/data/${namespace}/${route}`);
  expect(answer.status).toBe(200);
  return answer.json as { requestId: string; upload_url: string; objectKey: string; expires_at: string; status: string };
}

describe('SafetyKit emulator: add and status', () => {
  it('requires a bearer key (401) and restricts it to apiKeys', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope-not-a-key' }, { authorization: KEY }] as Array<Record<string, string>>) {
      const answer = await call('POST', '/v1/data/ns1', { data: [{ id: 'a' }] }, headers);
      expect(answer.status).toBe(401);
      expect(answer.json).toMatchObject({ statusCode: 401, message: expect.stringMatching(/Bearer/) });
    }
  });

  it('accepts one object or an array; answers {requestId, status: accepted}', async () => {
    const one = await call('POST', '/v1/data/ns1', { data: { id: 'single' } });
    expect(one.status).toBe(200);
    expect(Object.keys(one.json).sort()).toEqual(['requestId', 'status']);
    expect(one.json.status).toBe('accepted');
    const many = await call('POST', '/v1/data/ns1', { data: [{ id: 'a' }, { id: 'b', x: 1 }] });
    expect(many.json.status).toBe('accepted');
  });

  it('refuses objects without a string id (400 naming the index), >1000 objects or >5 MiB (413), bad JSON and bad namespaces', async () => {
    const noId = await call('POST', '/v1/data/ns1', { data: [{ id: 'a' }, { id: 'b' }, { name: 'c' }] });
    expect(noId.status).toBe(400);
    expect(noId.json.message).toContain('data[2]');
    const numericId = await call('POST', '/v1/data/ns1', { data: [{ id: 5 }] });
    expect(numericId.json.message).toContain('data[0]');
    const tooMany = await call('POST', '/v1/data/ns1', { data: Array.from({ length: 1001 }, (_, i) => ({ id: `i${i}` })) });
    expect(tooMany.status).toBe(413);
    const tooBig = await call('POST', '/v1/data/ns1', { data: [{ id: 'big', text: 'x'.repeat(5 * 1024 * 1024) }] });
    expect(tooBig.status).toBe(413);
    expect((await call('POST', '/v1/data/ns1', '{"data": [')).status).toBe(400);
    expect((await call('POST', '/v1/data/ns1', { nodata: 1 })).status).toBe(400);
    expect((await call('POST', '/v1/data/bad%20ns', { data: { id: 'a' } })).status).toBe(400);
  });

  it('runs queued → ingesting → succeeded, with data [] until succeeded and a deterministic output per object', async () => {
    const { json } = await call('POST', '/v1/data/ns1', { data: [{ id: 'p1' }, { id: 'p2' }] });
    const path = `/v1/data/ns1/requests/${json.requestId}`;
    const first = await call('GET', path);
    expect(first.json).toEqual({ data: [], namespace: 'ns1', request_id: json.requestId, status: 'queued' });
    const seen = new Set<string>();
    let final;
    for (let i = 0; i < 100; i++) {
      final = await call('GET', path);
      seen.add(final.json.status);
      if (final.json.status === 'succeeded') break;
      if (final.json.status !== 'succeeded') expect(final.json.data).toEqual([]);
      await sleep(5);
    }
    expect(seen.has('ingesting')).toBe(true);
    expect(final!.json.data.map((d: { id: string }) => d.id)).toEqual(['p1', 'p2']);
    const item = final!.json.data[0];
    expect(Object.keys(item).sort()).toEqual(['id', 'output', 'url']);
    expect(Object.keys(item.output).sort()).toEqual(['actions', 'fields', 'labels']);
    expect(item.output.labels[0]).toEqual({ label: expect.any(String) });
    // Same id → same output, in another request.
    const again = await call('POST', '/v1/data/ns1', { data: [{ id: 'p1' }] });
    const againFinal = await waitFinal(`/v1/data/ns1/requests/${again.json.requestId}`);
    expect(againFinal.json.data[0].output).toEqual(item.output);
  });

  it('answers 404 for an unknown request or a request of another namespace', async () => {
    const { json } = await call('POST', '/v1/data/ns1', { data: [{ id: 'x' }] });
    expect((await call('GET', '/v1/data/ns1/requests/req_unknown')).status).toBe(404);
    expect((await call('GET', `/v1/data/other/requests/${json.requestId}`)).status).toBe(404);
  });

  it('ends a request failed with its reason when told to', async () => {
    emulator.safetykit.failNextRequest('policy engine unavailable');
    const { json } = await call('POST', '/v1/data/ns1', { data: [{ id: 'x' }] });
    const final = await waitFinal(`/v1/data/ns1/requests/${json.requestId}`);
    expect(final.json).toMatchObject({ status: 'failed', error: 'policy engine unavailable', data: [] });
  });
});

describe('SafetyKit emulator: import through the pre-signed upload', () => {
  it('answers /import and /requests/upload-url with a signed, expiring upload_url on the emulator', async () => {
    for (const route of ['import', 'requests/upload-url']) {
      const ticket = await importTicket('ns1', route);
      expect(Object.keys(ticket).sort()).toEqual(['expires_at', 'objectKey', 'requestId', 'status', 'upload_url']);
      expect(ticket.status).toBe('pending_upload');
      const url = new URL(ticket.upload_url);
      expect(url.origin).toBe(emulator.url);
      expect(url.searchParams.get('signature')).toMatch(/^[0-9a-f]{64}$/);
      const hours = (Date.parse(ticket.expires_at) - Date.now()) / 3600_000;
      expect(hours).toBeGreaterThan(11.9);
      expect(hours).toBeLessThanOrEqual(12);
      const status = await call('GET', `/v1/data/ns1/requests/${ticket.requestId}`);
      expect(status.json).toMatchObject({ status: 'uploading', data_count: 0 });
    }
  });

  it('checks the PUT like an object store: signature (403), expiry (403), Content-Length (411), no Authorization (400)', async () => {
    const ticket = await importTicket();
    const body = '{"id":"a"}\n';
    const tampered = ticket.upload_url.replace(/signature=([0-9a-f])/, (_m, c) => `signature=${c === '0' ? '1' : '0'}`);
    const badSig = await call('PUT', tampered, body, {});
    expect(badSig.status).toBe(403);
    expect(badSig.text).toContain('SignatureDoesNotMatch');
    const noSig = await call('PUT', ticket.upload_url.split('?')[0], body, {});
    expect(noSig.status).toBe(403);
    const otherKey = await call('PUT', ticket.upload_url.replace('/imports/', '/imports-x/'), body, {});
    expect(otherKey.status).toBe(403);

    const chunked = await request(ticket.upload_url, { method: 'PUT', body: Readable.from([Buffer.from(body)]) });
    await chunked.body.text();
    expect(chunked.statusCode).toBe(411);

    const withAuth = await call('PUT', ticket.upload_url, body, auth);
    expect(withAuth.status).toBe(400);
    expect(withAuth.text).toContain('InvalidArgument');

    emulator.safetykit.expireNextUploadUrls(1);
    const expired = await importTicket();
    expect(Date.parse(expired.expires_at)).toBeLessThan(Date.now());
    const late = await call('PUT', expired.upload_url, body, {});
    expect(late.status).toBe(403);
    expect(late.text).toContain('Request has expired');

    const ok = await call('PUT', ticket.upload_url, body, {});
    expect(ok.status).toBe(200);
    const records = emulator.safetykit.uploads();
    expect(records.filter((r) => r.hadAuthorization).map((r) => r.status)).toEqual([400]);
  });

  it('ingests an upload, then serves its outputs as JSONL at a signed, expiring data_url with data_count', async () => {
    const ticket = await importTicket();
    const lines = Array.from({ length: 1500 }, (_, i) => JSON.stringify({ id: `imp-${i}`, text: 'hello' })).join('\n') + '\n';
    expect((await call('PUT', ticket.upload_url, lines, {})).status).toBe(200);
    const statusPath = `/v1/data/ns1/requests/${ticket.requestId}`;
    expect((await call('GET', statusPath)).json.status).toBe('queued');
    const final = await waitFinal(statusPath);
    expect(Object.keys(final.json).sort()).toEqual(['data_count', 'data_expires_at', 'data_url', 'namespace', 'request_id', 'status']);
    expect(final.json).toMatchObject({ status: 'succeeded', data_count: 1500, namespace: 'ns1', request_id: ticket.requestId });
    expect(Date.parse(final.json.data_expires_at)).toBeGreaterThan(Date.now());

    const download = await request(final.json.data_url);
    expect(download.statusCode).toBe(200);
    const text = await download.body.text();
    const outputs = text.trim().split('\n').map((line) => JSON.parse(line));
    expect(outputs).toHaveLength(1500);
    expect(outputs[1499].id).toBe('imp-1499');
    expect(Object.keys(outputs[0]).sort()).toEqual(['id', 'output', 'url']);

    const unsigned = await request(final.json.data_url.split('?')[0]);
    await unsigned.body.text();
    expect(unsigned.statusCode).toBe(403);

    const newer = await call('GET', `${statusPath}/results/download-url`);
    expect(newer.json).toMatchObject({ data_count: 1500, download_url: expect.stringContaining('signature=') });
  });

  it('fails an import whose upload has a bad line, naming the line', async () => {
    const ticket = await importTicket();
    expect((await call('PUT', ticket.upload_url, '{"id":"a"}\n{"id":"b"}\n{"id": nope}\n', {})).status).toBe(200);
    const final = await waitFinal(`/v1/data/ns1/requests/${ticket.requestId}`);
    expect(final.json.status).toBe('failed');
    expect(final.json.error).toMatch(/line 3/);
    const noId = await importTicket();
    await call('PUT', noId.upload_url, '{"id":"a"}\n{"name":"b"}\n', {});
    expect((await waitFinal(`/v1/data/ns1/requests/${noId.requestId}`)).json.error).toMatch(/Line 2/);
  });

  it('answers 409 for the download URL of an unfinished request', async () => {
    const ticket = await importTicket();
    expect((await call('GET', `/v1/data/ns1/requests/${ticket.requestId}/results/download-url`)).status).toBe(409);
  });
});

describe('SafetyKit emulator: settings', () => {
  it('validates the schema shape and answers {namespace, status: updated}', async () => {
    const ok = await call('PUT', '/v1/data/ns1/settings', { schema: { title: { content_type: 'text', field_limit: 100 }, seller: { namespace_ref: 'sellers' } } });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ namespace: 'ns1', status: 'updated' });
    for (const schema of [undefined, [], { title: 'text' }, { title: { field_limit: -1 } }, { title: { colour: 'red' } }]) {
      expect((await call('PUT', '/v1/data/ns1/settings', { schema })).status).toBe(400);
    }
  });
});
