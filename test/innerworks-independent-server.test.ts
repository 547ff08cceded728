/**
 * The Innerworks source against a server written from seed 000 alone (not our emulator): shapes
 * the documents allow that our emulator does not produce.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { inferenceResults } from '../src/innerworks/index.js';
import { reply, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const record = (n: number) => ({ requestId: `req-${n}`, projectId: 'p', timestamp: new Date(1_700_000_000_000 + n).toISOString(), result: {} });
const page = (body: unknown) => reply(200, body);

async function readAll(stream: AsyncIterable<{ requestId: string }>): Promise<string[]> {
  const ids: string[] = [];
  for await (const result of stream) ids.push(result.requestId);
  return ids;
}

describe('inferenceResults against an independent server', () => {
  for (const last of [null, '']) {
    it(`ends cleanly on an empty page whose checkpoint is ${JSON.stringify(last)}`, async () => {
      server = await startTestServer(
        page({ checkpoint: 'YWJj+/8=', batchSize: 2, results: [record(1), record(2)] }),
        page({ batchSize: 2, results: [record(3)], checkpoint: 'ZGVm' }),
        page({ batchSize: 2, results: [], checkpoint: last }),
      );
      const ids = await readAll(inferenceResults({ baseUrl: server.url, apiKey: 'independent-key-1', batchSize: 2, retry: false }));
      expect(ids).toEqual(['req-1', 'req-2', 'req-3']);
      // The opaque checkpoint is URL-encoded: '+', '/' and '=' survive.
      expect(server.requests[1].url).toContain('checkpoint=YWJj%2B%2F8%3D');
      expect(server.requests[0].headers['x-api-key']).toBe('independent-key-1');
    });
  }

  it('with follow, waits pollIntervalMs after every empty page even when the checkpoint moves', async () => {
    let polls = 0;
    server = await startTestServer(page({ batchSize: 5, results: [record(1)], checkpoint: 'c0' }), (_req, res) => {
      polls++;
      // A server whose position moves with its clock: a new checkpoint on every empty page.
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ batchSize: 5, results: [], checkpoint: `c${polls}` }));
    });
    const controller = new AbortController();
    const stream = inferenceResults({ baseUrl: server.url, apiKey: 'independent-key-1', follow: true, pollIntervalMs: 100, signal: controller.signal, retry: false });
    const ids: string[] = [];
    stream.on('data', (result: { requestId: string }) => ids.push(result.requestId));
    const ended = new Promise<unknown>((resolve) => stream.once('error', resolve));
    await new Promise((resolve) => setTimeout(resolve, 550));
    controller.abort();
    expect(await ended).toMatchObject({ name: 'AbortError' });
    expect(ids).toEqual(['req-1']);
    expect(polls).toBeGreaterThanOrEqual(2);
    expect(polls).toBeLessThanOrEqual(8);
  });
});
