/**
 * SafetyKit pieces against servers written from seed 001 and API-NOTES alone (not our emulator):
 * an object store on another origin (a cold connection, as with a real pre-signed S3 URL), and
 * failure reasons in the shapes other API versions use.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveRetry } from '../src/core/retry.js';
import { uploadFile } from '../src/safetykit/client.js';
import { ImportFailedError } from '../src/core/errors.js';
import { waitForRequest } from '../src/safetykit/index.js';
import { reply, startTestServer } from './helpers/server.js';
import { rejection } from './helpers/rejection.js';

describe('uploadFile to a separate object store', () => {
  it('sends the whole file on a cold connection while reporting progress, every time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'is-upload-'));
    const file = join(dir, 'part.jsonl');
    const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ id: `obj-${i}`, text: 'x'.repeat(40) }));
    await writeFile(file, `${lines.join('\n')}\n`);
    const content = await readFile(file);
    const digest = createHash('sha256').update(content).digest('hex');

    for (let round = 0; round < 8; round++) {
      // A new server each round, reached by name: a fresh connection whose DNS lookup gives a
      // body that starts flowing too early every chance to be read out before undici sends it.
      const store = await startTestServer((_req, res) => res.writeHead(200).end());
      const progress: number[] = [];
      try {
        await uploadFile(`${store.url.replace('127.0.0.1', 'localhost')}/bucket/part.jsonl?X-Amz-Signature=sig${round}`, file, content.length, {
          retry: resolveRetry(false),
          timeoutMs: 10_000,
          onProgress: (sent) => progress.push(sent),
        });
        const [put] = store.requests;
        expect(put.method).toBe('PUT');
        expect(put.headers['content-length']).toBe(String(content.length));
        expect(put.headers.authorization).toBeUndefined();
        expect(createHash('sha256').update(put.body).digest('hex')).toBe(digest);
        expect(progress[progress.length - 1]).toBe(content.length);
      } finally {
        await store.close();
      }
    }
  });
});

describe('a request that ends failed', () => {
  const shapes: Array<[string, Record<string, unknown>]> = [
    ['errors[0].message', { errors: [{ message: 'line 7 is not JSON' }] }],
    ['status_reason', { status_reason: 'line 7 is not JSON' }],
    ['error.message', { error: { message: 'line 7 is not JSON' } }],
  ];
  for (const [shape, extra] of shapes) {
    it(`reports the server's reason given as ${shape}`, async () => {
      const api = await startTestServer(reply(200, { request_id: 'req-1', namespace: 'ns', status: 'failed', data: [], ...extra }));
      try {
        const error = await rejection<ImportFailedError>(
          waitForRequest({ baseUrl: api.url, apiKey: 'independent-key-2', namespace: 'ns', requestId: 'req-1', pollIntervalMs: 10, retry: false }),
        );
        expect(error).toBeInstanceOf(ImportFailedError);
        expect(error.reason).toBe('line 7 is not JSON');
        expect(api.requests[0].url).toBe('/v1/data/ns/requests/req-1');
        expect(api.requests[0].headers.authorization).toBe('Bearer independent-key-2');
      } finally {
        await api.close();
      }
    });
  }
});
