/**
 * The upload PUT to an object store on another origin (a cold connection, as with a real
 * pre-signed S3 URL): every byte arrives, progress is reported, no credentials are sent.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveRetry } from '../src/core/retry.js';
import { uploadFile } from '../src/safetykit/client.js';
import { startTestServer } from './helpers/server.js';

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
