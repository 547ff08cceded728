/** Reinfer errors, wire format and secrets: against the emulator, and a scripted server for exact bodies. */
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, NotFoundError, ProtocolError, ServerError } from '../src/core/errors.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { getValidation, predictComments, predictDocuments } from '../src/reinfer/index.js';
import { rejection } from './helpers/rejection.js';
import { reply, startTestServer, type TestServer } from './helpers/server.js';
import { conn, doc, docs, run } from './reinfer-helpers.js';

const SECRET = 'rf-secret-token-0123456789abcdef';
let emulator: Emulator;
let server: TestServer | undefined;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0, reinfer: { tokens: [SECRET] } });
});
afterAll(async () => {
  await emulator.close();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const withSecret = () => ({ ...conn(emulator), token: SECRET });

describe('reinfer errors', () => {
  it('401: AuthenticationError that says what to check and never shows the token', async () => {
    const wrong = 'rf-wrong-token-9876543210fedcba';
    const error = await rejection<AuthenticationError>(run(predictDocuments({ ...conn(emulator), token: wrong }), [doc(0)]));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.status).toBe(401);
    expect(error.message).toMatch(/REINFER_TOKEN/);
    for (const text of [error.message, error.stack ?? '', inspect(error)]) expect(text).not.toContain(wrong);
  });

  it('404 for an unknown version: NotFoundError with the server message', async () => {
    const error = await rejection<NotFoundError>(run(predictDocuments({ ...withSecret(), version: 42 }), [doc(0)]));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.serverMessage).toBe("Model version '42' not found for dataset 'acme/emails'");
    const validationError = await rejection(getValidation({ ...withSecret(), version: 99 }));
    expect(validationError).toBeInstanceOf(NotFoundError);
  });

  it('a 2xx with status "error" is a ProtocolError; a misaligned answer too', async () => {
    server = await startTestServer(reply(200, { status: 'error', message: 'model is being retrained' }));
    const error = await rejection(run(predictDocuments({ ...conn(emulator), endpoint: server.url, token: SECRET }), [doc(0)]));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/model is being retrained/);
    await server.close();
    server = await startTestServer(reply(200, { status: 'ok', predictions: [], model: null }));
    const short = await rejection(run(predictDocuments({ ...conn(emulator), endpoint: server.url, token: SECRET }), [doc(0)]));
    expect(short).toBeInstanceOf(ProtocolError);
    expect((short as Error).message).toMatch(/expected 1 prediction \(one per document\)/);
  });

  it('5xx is retried, then fails with the retry count', async () => {
    emulator.injectFault('503', { route: 'reinfer.predict', count: 3 }); // the first try and both retries
    const error = await rejection<ServerError>(run(predictDocuments({ ...withSecret(), retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 } }), [doc(0)]));
    expect(error).toBeInstanceOf(ServerError);
    expect(error.retries).toBe(2);
    expect((await run(predictDocuments({ ...withSecret() }), [doc(1)])).length).toBe(1); // the queue of faults is used up
  });
});

describe('reinfer transport faults', () => {
  it('retries a reset connection and a truncated body, and the output is complete and in order', async () => {
    emulator.injectFault('reset', { route: 'reinfer.predict', count: 2 });
    emulator.injectFault('truncate', { route: 'reinfer.predict', count: 2 });
    const stream = predictDocuments({ ...withSecret(), batchSize: 10, concurrency: 2 });
    const out = await run(stream, docs(60));
    expect(out.map((o) => o.input.id)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(stream.stats.retries).toBe(4);
  });
});

describe('reinfer wire format', () => {
  it('sends threshold, labels and only the documented document fields, with URL-encoded path segments and the bearer token', async () => {
    server = await startTestServer((_req, res, body) => {
      const parsed = JSON.parse(body.toString());
      const n = parsed.documents.length;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', predictions: Array.from({ length: n }, () => [{ name: 'A > B', probability: 0.9, sentiment: -0.5 }]), model: { version: 3, time: 't' } }));
    });
    const input = { ...doc(0), id: 'x-1', thread: 'kept', timestamp: '2020-01-01T00:00:00Z', user_properties: { 'string:City': 'Paris' } };
    const [out] = await run(
      predictDocuments({
        endpoint: `${server.url}/`,
        token: SECRET,
        project: 'my project',
        dataset: 'a/b',
        version: 'staging',
        threshold: 0.3,
        labels: [{ name: 'Order > Missing', threshold: 0.5 }, { name: ['Billing'] }],
      }),
      [input],
    );
    const request = server.requests[0];
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/api/v1/datasets/my%20project/a%2Fb/labellers/staging/predict');
    expect(request.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(JSON.parse(request.body.toString())).toEqual({
      documents: [{ messages: input.messages, timestamp: input.timestamp, user_properties: input.user_properties }],
      threshold: 0.3,
      labels: [{ name: ['Order', 'Missing'], threshold: 0.5 }, { name: ['Billing'] }],
    });
    // A label name given as a string is split into its parts; sentiment falls back to the label's.
    expect(out.input).toBe(input);
    expect(out.labels).toEqual([{ name: ['A', 'B'], fullName: 'A > B', probability: 0.9, sentiment: -0.5 }]);
    expect(out.sentiment).toBe(-0.5);
    expect(out.entities).toEqual([]);
  });

  it('predict-comments sends uids and threshold "auto"', async () => {
    const uids = emulator.reinfer.commentUids(3);
    await run(predictComments({ ...withSecret(), threshold: 'auto' }), uids);
    expect(emulator.reinfer.requests().at(-1)).toMatchObject({ route: 'reinfer.predict-comments', count: 3, threshold: 'auto' });
  });
});

describe('getValidation', () => {
  it('returns the typed validation object for latest (default), live and an integer', async () => {
    const latest = await getValidation({ ...withSecret() });
    expect(latest.version).toBe(6);
    expect(latest.labels).toContainEqual({ name: 'Order > Missing', parts: ['Order', 'Missing'] });
    expect((await getValidation({ ...withSecret(), version: 'live' })).version).toBe(5);
    expect((await getValidation({ ...withSecret(), version: 3 })).version).toBe(3);
  });
});

describe('many batches with failures in emit mode', () => {
  it('keeps order and isolates several bad documents across batches', async () => {
    const inputs: unknown[] = docs(500);
    for (const bad of [3, 250, 251, 499]) inputs[bad] = { ...doc(bad), timestamp: 'never' };
    const out = await run(predictDocuments({ ...withSecret(), batchSize: 64, concurrency: 3, onError: 'emit' }), inputs);
    expect(out.filter((o) => 'error' in o).map((o) => o.index)).toEqual([3, 250, 251, 499]);
    expect(out.map((o) => o.input)).toEqual(inputs);
  });
});
