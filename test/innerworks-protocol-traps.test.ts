/**
 * Server answers that would make a naive client lose or repeat records (issue: an outside review):
 * a non-object in `results` (a `null` ends a Readable silently), and a checkpoint that does not
 * advance (the same one back, or a cycle A → B → A). Served by an independent node:http server.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProtocolError } from '../src/core/errors.js';
import { exportInferenceResults, inferenceResults } from '../src/innerworks/index.js';
import { reply, startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('iw-traps-');
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const record = (n: number) => ({ requestId: `req-${n}`, projectId: 'p', timestamp: new Date(1_700_000_000_000 + n).toISOString(), result: {} });
const page = (results: unknown[], checkpoint: string) => reply(200, { batchSize: 2, results, checkpoint });
const end = reply(200, { batchSize: 2, results: [], checkpoint: 'ZW5k' });
const options = () => ({ baseUrl: server!.url, apiKey: 'independent-key-1', batchSize: 2, retry: false as const });

/** Read until the stream ends or fails; what was emitted and how it ended. */
async function drain(stream: AsyncIterable<{ requestId: string }>): Promise<{ ids: string[]; error: unknown }> {
  const ids: string[] = [];
  try {
    for await (const result of stream) ids.push(result.requestId);
    return { ids, error: undefined };
  } catch (error) {
    return { ids, error };
  }
}

describe('a result that is not an object', () => {
  for (const [label, bad] of [
    ['null', null],
    ['a number', 7],
    ['a string', 'req-x'],
    ['a boolean', true],
    ['an array', [record(9)]],
  ] as const) {
    it(`${label} in results fails the stream naming the page and index, before any record of that page`, async () => {
      server = await startTestServer(page([record(0)], 'QQ=='), page([record(1), bad], 'Qg=='), page([record(2), record(3)], 'Qw=='), page([record(4)], 'RA=='), end);
      const { ids, error } = await drain(inferenceResults(options()));
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as Error).message).toContain('results[1] of page 2');
      expect((error as Error).message).toContain('after checkpoint QQ==');
      // Page 1 was whole and good; nothing of page 2 (or later) came out.
      expect(ids).toEqual(['req-0']);
    });
  }

  it('a null in the middle of a page is refused, not turned into "push() after EOF"', async () => {
    server = await startTestServer(page([record(1), null, record(2)], 'QQ=='), end);
    const { ids, error } = await drain(inferenceResults(options()));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toContain('results[1] of page 1 (the first request) is null');
    expect(ids).toEqual([]);
  });

  it('the file export writes no "null" line and keeps the good pages for a resume', async () => {
    const file = join(dir(), `out-${Math.random().toString(36).slice(2)}.jsonl`);
    server = await startTestServer(page([record(1), record(2)], 'QQ=='), page([record(3), null], 'Qg=='), end);
    await expect(exportInferenceResults({ ...options(), file })).rejects.toThrow(/results\[1\] of page 2.*is null/);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).requestId)).toEqual(['req-1', 'req-2']);
    expect(JSON.parse(await readFile(`${file}.state.json`, 'utf8'))).toMatchObject({ checkpoint: 'QQ==', records: 2 });
  });
});

describe('a checkpoint that does not advance', () => {
  it('the same checkpoint back for a non-empty page stops with a ProtocolError, writing nothing twice', async () => {
    // A server stuck on one page: every answer is the same records with the same checkpoint.
    server = await startTestServer(page([record(1), record(2)], 'c3R1Y2s='));
    const started = Date.now();
    const { ids, error } = await drain(inferenceResults(options()));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/page 2 \(after checkpoint c3R1Y2s=\) has results but returned the same checkpoint/);
    expect(ids).toEqual(['req-1', 'req-2']);
    expect(server.requests.length).toBeLessThanOrEqual(3);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('a cycle A → B → A stops when A comes back', async () => {
    server = await startTestServer(page([record(1)], 'QQ=='), page([record(2)], 'Qg=='), page([record(3)], 'QQ=='), page([record(4)], 'Qg=='));
    const { ids, error } = await drain(inferenceResults(options()));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/page 3 \(after checkpoint Qg==\) returned checkpoint QQ==, which an earlier page of this run already returned/);
    expect(ids).toEqual(['req-1', 'req-2']);
  });

  it('the file export stops too, and its state resumes after the last good page', async () => {
    const file = join(dir(), `out-${Math.random().toString(36).slice(2)}.jsonl`);
    server = await startTestServer(page([record(1)], 'QQ=='), page([record(2)], 'QQ=='));
    await expect(exportInferenceResults({ ...options(), file })).rejects.toBeInstanceOf(ProtocolError);
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(1);
  });

  it('follow mode may keep its checkpoint over empty pages (that is polling, not a loop)', async () => {
    server = await startTestServer(page([record(1)], 'QQ=='), reply(200, { batchSize: 2, results: [], checkpoint: 'QQ==' }), reply(200, { batchSize: 2, results: [], checkpoint: 'QQ==' }), page([record(2)], 'Qg=='), reply(200, { batchSize: 2, results: [], checkpoint: 'Qg==' }));
    const controller = new AbortController();
    const stream = inferenceResults({ ...options(), follow: true, pollIntervalMs: 20, signal: controller.signal });
    const { ids, error } = await drain(
      (async function* () {
        for await (const result of stream) {
          yield result;
          if (result.requestId === 'req-2') controller.abort();
        }
      })(),
    );
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(ids).toEqual(['req-1', 'req-2']);
    expect(server.requests.length).toBeGreaterThanOrEqual(4);
  });
});
