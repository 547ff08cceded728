import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, ConnectionError, TimeoutError, RateLimitError, ServerError } from '../src/core/errors.js';
import { callApi } from '../src/core/api.js';
import { resolveRetry } from '../src/core/retry.js';
import { parseFaultSpec } from '../src/emulator/faults.js';
import { json } from '../src/emulator/http-util.js';
import { startServer, type RunningServer } from '../src/emulator/server.js';
import type { FaultOptions } from '../src/emulator/types.js';
import { rejection } from './helpers/rejection.js';

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const payload = { items: Array.from({ length: 200 }, (_, i) => ({ i, text: `item ${i}` })) };

async function start(faults?: FaultOptions): Promise<RunningServer> {
  server = await startServer({ host: '127.0.0.1', port: 0, seed: 7, latencyMs: 0, faults });
  server.addRoutes([
    { name: 'test.items', method: 'GET', pattern: /^\/items$/, handle: () => json(200, payload) },
    { name: 'test.echo', method: 'POST', pattern: /^\/echo\/(?<id>[^/]+)$/, handle: async (req) => json(200, { id: req.params.id, body: (await req.body()).toString() }) },
  ]);
  return server;
}

function get(path = '/items', timeoutMs = 2_000) {
  return callApi<typeof payload>({ method: 'GET', url: `${server!.url}${path}`, endpoint: `GET ${path}`, retry: resolveRetry(false), timeoutMs });
}

describe('emulator server', () => {
  it('routes with decoded params and counts stats per route', async () => {
    await start();
    const result = await callApi<{ id: string; body: string }>({
      method: 'POST',
      url: `${server!.url}/echo/a%20b`,
      endpoint: 'POST /echo',
      json: { x: 1 },
      retry: resolveRetry(false),
      timeoutMs: 2_000,
    });
    expect(result.data).toEqual({ id: 'a b', body: '{"x":1}' });
    const stats = server!.stats()['test.echo'];
    expect(stats.requests).toBe(1);
    expect(stats.statuses).toEqual({ 200: 1 });
    expect(stats.bytesIn).toBe(7);
  });

  it('answers 404 for unknown paths and 405 for a wrong method', async () => {
    await start();
    await expect(get('/nothing')).rejects.toMatchObject({ status: 404 });
    const error = await rejection<ApiError>(callApi({ method: 'DELETE', url: `${server!.url}/items`, endpoint: 'DELETE /items', retry: resolveRetry(false), timeoutMs: 2_000 }));
    expect(error.status).toBe(405);
  });

  it('injects each status fault with the documented headers', async () => {
    await start({ retryAfterMs: 1500 });
    server!.faults.inject('429', 'test');
    const limited = await rejection<RateLimitError>(get());
    expect(limited).toBeInstanceOf(RateLimitError);
    expect(limited.retryAfterMs).toBe(1500);
    for (const kind of ['500', '502', '503'] as const) {
      server!.faults.inject(kind, 'test.items');
      await expect(get()).rejects.toMatchObject({ status: Number(kind) });
    }
    await expect(get()).resolves.toMatchObject({ data: payload });
    expect(server!.stats()['test.items'].faults).toBe(4);
  });

  it('injects resets (before and during the body) and truncated bodies', async () => {
    await start();
    server!.faults.inject('reset', 'test.items', 6);
    for (let i = 0; i < 6; i++) await expect(get()).rejects.toBeInstanceOf(ConnectionError);
    server!.faults.inject('truncate', 'test.items');
    await expect(get()).rejects.toThrow(/cut short|connection failed/);
    await expect(get()).resolves.toMatchObject({ data: payload });
  });

  it('injects slow headers and slow bodies that trip a client timeout', async () => {
    await start({ slowMs: 2_000 });
    server!.faults.inject('slow-headers', 'test.items');
    await expect(get('/items', 200)).rejects.toBeInstanceOf(TimeoutError);
    server!.faults.inject('slow-body', 'test.items');
    await expect(get('/items', 200)).rejects.toBeInstanceOf(TimeoutError);
  });

  it('follows a script by request number, per route', async () => {
    await start({ script: [{ nth: 2, kind: '503', route: 'test.items' }] });
    await expect(get()).resolves.toBeDefined();
    await expect(get()).rejects.toBeInstanceOf(ServerError);
    await expect(get()).resolves.toBeDefined();
  });

  it('draws random faults at the given rate, repeatably for a seed', async () => {
    const draw = async () => {
      await start({ rate: 0.3, kinds: ['500'], seed: 42 });
      const outcomes: boolean[] = [];
      for (let i = 0; i < 40; i++) outcomes.push(await get().then(() => true, () => false));
      await server!.close();
      server = undefined;
      return outcomes;
    };
    const first = await draw();
    const second = await draw();
    expect(first).toEqual(second);
    const failures = first.filter((ok) => !ok).length;
    expect(failures).toBeGreaterThan(4);
    expect(failures).toBeLessThan(24);
  });

  it('parses the CLI fault spec', () => {
    expect(parseFaultSpec('rate=0.1,kinds=429,503,reset')).toEqual({ rate: 0.1, kinds: ['429', '503', 'reset'] });
    expect(() => parseFaultSpec('rate=2')).toThrow(/0 to 1/);
    expect(() => parseFaultSpec('kinds=teapot')).toThrow(/unknown fault kind/);
  });
});
