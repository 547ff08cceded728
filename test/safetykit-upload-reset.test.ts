/**
 * A connection dropped while an upload PUT sends its body is retried with a fresh body, like any
 * reset; a failure of the body itself (an unreadable file, a bad line found while streaming) is
 * typed and never retried. Over loopback: the emulator cuts the PUT after its first bytes arrive,
 * and an independent node:http object store does the same.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionError, InferenceStreamsError, JsonlError, RequestBodyError, TimeoutError } from '../src/core/errors.js';
import { resolveRetry } from '../src/core/retry.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { uploadBody, uploadFile } from '../src/safetykit/client.js';
import { importFile, importWriter } from '../src/safetykit/index.js';
import { rejection } from './helpers/rejection.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { tempDir } from './helpers/temp-dir.js';

const KEY = 'sk-test-upload-reset-0123456789';
let emulator: Emulator;
const dir = tempDir('sk-upload-reset-');
const conn = () => ({
  baseUrl: emulator.url,
  apiKey: KEY,
  namespace: 'resets',
  spoolDir: dir(),
  retry: { baseDelayMs: 1, maxDelayMs: 20 },
  pollIntervalMs: 5,
  maxPollIntervalMs: 20,
});

beforeAll(async () => {
  emulator = await startEmulator({ safetykit: { queuedMs: 5, ingestingMs: 10 } });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => emulator.resetStats());

/** JSONL of `count` objects of about 300 bytes each: several MB, far more than a socket buffers. */
function jsonl(count: number, prefix: string): string {
  let text = '';
  for (let i = 0; i < count; i++) text += `${JSON.stringify({ id: `${prefix}-${i}`, title: `Listing ${i}`, body: 'lorem ipsum dolor sit amet '.repeat(10) })}\n`;
  return text;
}

/** Objects the emulator imported for these requests (each counted once per request). */
function importedObjects(requestIds: string[]): number {
  return requestIds.reduce((sum, requestId) => sum + (emulator.safetykit.request(requestId)?.objects ?? 0), 0);
}

/** PUTs the emulator cut: a reset answers nothing, so they are the requests without a status. */
function cutUploads(): number {
  const upload = emulator.stats()['safetykit.upload'];
  return upload.requests - Object.values(upload.statuses).reduce((sum, count) => sum + count, 0);
}

describe("the emulator's reset fault on an upload", () => {
  it('cuts the PUT only once bytes of its body have arrived', async () => {
    const ticket = await request(`${emulator.url}/v1/data/resets/import`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` } });
    const { upload_url: uploadUrl } = (await ticket.body.json()) as { upload_url: string };
    emulator.injectFault('reset', { route: 'safetykit.upload' });
    const put = httpRequest(uploadUrl, { method: 'PUT', headers: { 'content-length': '1000000', 'content-type': 'application/json' } });
    let failure: NodeJS.ErrnoException | undefined;
    put.on('error', (error) => (failure = error));
    put.flushHeaders();
    // Headers alone: the connection stays up (nothing of the body has arrived yet).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(failure).toBeUndefined();
    put.write(Buffer.alloc(64 * 1024, 'a'));
    if (!failure) await once(put, 'error');
    expect(failure?.code).toMatch(/ECONNRESET|EPIPE/);
    expect(cutUploads()).toBe(1);
  });
});

describe('a reset while the PUT body is being sent', () => {
  it('importWriter() sends the part again and imports every object once', async () => {
    emulator.injectFault('reset', { route: 'safetykit.upload', count: 2 });
    const writer = importWriter(conn());
    await pipeline(Readable.from([jsonl(20_000, 'w')]), writer);
    const summary = writer.summary!;
    expect(summary.statuses).toEqual({ succeeded: 1 });
    expect(summary.retries).toBe(2);
    expect(cutUploads()).toBe(2);
    expect(emulator.stats()['safetykit.upload'].statuses).toEqual({ 200: 1 });
    expect(emulator.stats()['safetykit.import'].requests).toBe(1);
    expect(importedObjects(summary.requestIds)).toBe(20_000);
  });

  it('importFile() of one part sends it again and imports every object once', async () => {
    const file = join(dir(), 'one-part.jsonl');
    writeFileSync(file, jsonl(20_000, 'f'));
    emulator.injectFault('reset', { route: 'safetykit.upload', count: 2 });
    const summary = await importFile({ ...conn(), file });
    expect(summary.statuses).toEqual({ succeeded: 1 });
    expect(summary.retries).toBe(2);
    expect(cutUploads()).toBe(2);
    expect(emulator.stats()['safetykit.import'].requests).toBe(1);
    expect(summary.objects).toBe(20_000);
    expect(importedObjects(summary.requestIds)).toBe(20_000);
  });

  it('importFile() of several parts retries each cut part and imports every object once', async () => {
    const file = join(dir(), 'parts.jsonl');
    writeFileSync(file, jsonl(24_000, 'm'));
    // Parts of about 2.4 MB (checked while they stream), the first three cut once each.
    emulator.injectFault('reset', { route: 'safetykit.upload', count: 3 });
    const summary = await importFile({ ...conn(), file, partBytes: 2_400_000 });
    expect(summary.requestIds.length).toBeGreaterThanOrEqual(3);
    expect(summary.statuses).toEqual({ succeeded: summary.requestIds.length });
    expect(summary.retries).toBe(3);
    expect(cutUploads()).toBe(3);
    expect(emulator.stats()['safetykit.import'].requests).toBe(summary.requestIds.length);
    expect(summary.objects).toBe(24_000);
    expect(importedObjects(summary.requestIds)).toBe(24_000);
  });
});

describe('a failure of the body itself is typed and not retried', () => {
  it('a bad line found while a big part streams fails with JsonlError after one PUT', async () => {
    const file = join(dir(), 'bad-late.jsonl');
    writeFileSync(file, `${jsonl(10_000, 'b')}{"id": nope}\n`);
    const error = await rejection<JsonlError>(importFile({ ...conn(), file }));
    expect(error).toBeInstanceOf(JsonlError);
    expect(error.message).toContain(`${file}:10001`);
    expect(emulator.stats()['safetykit.upload'].requests).toBe(1);
    expect(emulator.safetykit.uploads().at(-1)?.status).not.toBe(200);
  });

  it('a file that cannot be read fails with RequestBodyError after one PUT', async () => {
    const store = await startResettingStore(0);
    try {
      const error = await rejection<RequestBodyError>(
        uploadFile(`${store.url}/bucket/part.jsonl?X-Amz-Signature=secret`, join(dir(), 'missing.jsonl'), 1000, { retry: resolveRetry({ baseDelayMs: 1 }), timeoutMs: 10_000 }),
      );
      expect(error).toBeInstanceOf(RequestBodyError);
      expect(error.code).toBe('ENOENT');
      expect(error.message).toContain('missing.jsonl');
      expect(error.message).not.toContain('secret');
      expect(store.puts.length).toBeLessThanOrEqual(1);
    } finally {
      await store.close();
    }
  });

  it('a body stream that fails mid-way fails with RequestBodyError after one PUT, never a bare Error', async () => {
    const store = await startResettingStore(0);
    try {
      let attempts = 0;
      const error = await rejection<RequestBodyError>(
        uploadBody(
          `${store.url}/bucket/part.jsonl`,
          4 * 1024 * 1024,
          () => {
            attempts++;
            return Readable.from(
              (async function* () {
                yield Buffer.alloc(1024 * 1024, 'a');
                throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
              })(),
            );
          },
          { retry: resolveRetry({ baseDelayMs: 1 }), timeoutMs: 10_000 },
        ),
      );
      expect(error).toBeInstanceOf(RequestBodyError);
      expect(error).toBeInstanceOf(InferenceStreamsError);
      expect(error.code).toBe('EIO');
      expect(attempts).toBe(1);
    } finally {
      await store.close();
    }
  });
});

/**
 * An object store written for this test alone: the first `resets` PUTs are cut once their first
 * bytes have arrived; later ones are read whole and answered 200.
 */
async function startResettingStore(resets: number, then: 'answer' | 'stall' = 'answer') {
  const puts: Array<{ received: number; complete: boolean; body?: Buffer }> = [];
  const server = createServer((req: IncomingMessage, res) => {
    const put: { received: number; complete: boolean; body?: Buffer } = { received: 0, complete: false };
    puts.push(put);
    if (then === 'stall') {
      // Read the first bytes, then neither read on nor answer.
      req.once('data', (chunk: Buffer) => ((put.received = chunk.length), req.pause()));
      return;
    }
    if (puts.length <= resets) {
      req.once('data', (chunk: Buffer) => {
        put.received = chunk.length;
        req.socket.resetAndDestroy();
      });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      put.body = Buffer.concat(chunks);
      put.received = put.body.length;
      put.complete = true;
      res.writeHead(200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    puts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('an independent object store that resets mid-body', () => {
  it('uploadFile() sends the whole file again after the cut', async () => {
    const file = join(dir(), 'independent.jsonl');
    writeFileSync(file, jsonl(20_000, 'i'));
    const content = readFileSync(file);
    const store = await startResettingStore(1);
    const progress: number[] = [];
    try {
      const result = await uploadFile(`${store.url}/bucket/part.jsonl?X-Amz-Signature=sig`, file, content.length, {
        retry: resolveRetry({ baseDelayMs: 1, maxDelayMs: 5 }),
        timeoutMs: 30_000,
        onProgress: (sent) => progress.push(sent),
      });
      expect(result.retries).toBe(1);
      expect(progress.at(-1)).toBe(content.length);
      expect(store.puts).toHaveLength(2);
      expect(store.puts[0].received).toBeGreaterThan(0);
      expect(store.puts[0].received).toBeLessThan(content.length);
      expect(store.puts[1].complete).toBe(true);
      expect(createHash('sha256').update(store.puts[1].body!).digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
    } finally {
      await store.close();
    }
  });

  it('gives up with a ConnectionError (retry count in it) when every attempt is cut', async () => {
    const file = join(dir(), 'independent-cut.jsonl');
    writeFileSync(file, jsonl(20_000, 'c'));
    const store = await startResettingStore(100);
    try {
      const error = await rejection<ConnectionError>(
        uploadFile(`${store.url}/bucket/part.jsonl?X-Amz-Signature=sig`, file, readFileSync(file).length, {
          retry: resolveRetry({ maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 }),
          timeoutMs: 30_000,
          onProgress: () => undefined,
        }),
      );
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error.retries).toBe(2);
      expect(error.message).toContain('/bucket/part.jsonl');
      expect(error.message).not.toContain('sig');
      expect(store.puts).toHaveLength(3);
    } finally {
      await store.close();
    }
  });
});

describe('an upload that stalls mid-body', () => {
  it('fails with TimeoutError, never a bare Error', async () => {
    const file = join(dir(), 'stalled.jsonl');
    writeFileSync(file, jsonl(20_000, 's'));
    const store = await startResettingStore(0, 'stall');
    try {
      const error = await rejection<TimeoutError>(
        uploadFile(`${store.url}/bucket/part.jsonl`, file, readFileSync(file).length, { retry: resolveRetry(false), timeoutMs: 1000, onProgress: () => undefined }),
      );
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.message).toContain('/bucket/part.jsonl');
    } finally {
      await store.close();
    }
  });
});

describe('importFile() waiting for earlier parts when a later one has a bad line', () => {
  it('rejects with the JsonlError, not the AbortError of the polls it stops', async () => {
    const file = join(dir(), 'later-bad.jsonl');
    writeFileSync(file, '{"id":"l1"}\n{"id":"l2"}\n{"id":bad}\n{"id":"l4"}\n');
    // Earlier parts stay queued long enough to be polled when the bad line is found.
    emulator.safetykit.setDelays({ queuedMs: 2000 });
    try {
      const error = await rejection<JsonlError>(importFile({ ...conn(), file, partBytes: 12, wait: true }));
      expect(error).toBeInstanceOf(JsonlError);
      expect(error.line).toBe(3);
      expect(error.message).toContain(`${file}:3`);
    } finally {
      emulator.safetykit.setDelays({ queuedMs: 5 });
    }
  });
});

describe('inference-streams import --wait with a bad line in a later part (built CLI)', () => {
  it('reports the bad line, file and line number, with exit 1 (not an interrupt), on every run', async () => {
    mkdirSync(join(dir(), 'cli'), { recursive: true });
    const file = join(dir(), 'cli', 'third-bad.jsonl');
    writeFileSync(file, '{"id":"a1"}\n{"id":"a2"}\n{"id":bad}\n{"id":"a4"}\n');
    const args = ['import', '--no-progress', '--namespace', 'resets', '--in', file, '--part-bytes', '12', '--wait', '--poll-interval-ms', '5'];
    const env = { SAFETYKIT_API_KEY: KEY, SAFETYKIT_BASE_URL: emulator.url };
    for (let run = 0; run < 2; run++) {
      const cli = spawnCli(args, env);
      const [code] = await cli.exited;
      expect(cli.err()).toContain(`${file}:3`);
      expect(cli.err()).not.toMatch(/aborted|interrupted/);
      expect(code).toBe(1);
    }
  });
});
