import { afterEach, describe, expect, it } from 'vitest';
import { callApi } from '../src/core/api.js';
import { requestStream } from '../src/core/http.js';
import { AbortError, ConnectionError, InvalidRequestError, RateLimitError, ServerError, TimeoutError } from '../src/core/errors.js';
import { backoffDelay, parseRetryAfter, resolveRetry, sleep, withRetry, type ResolvedRetry } from '../src/core/retry.js';
import { ConfigError } from '../src/core/errors.js';
import { reply, startTestServer, type TestServer } from './helpers/server.js';
import { rejection } from './helpers/rejection.js';

const fast: ResolvedRetry = { maxRetries: 5, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 120_000 };
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function call(url: string, retry: ResolvedRetry = fast, extra: Partial<Parameters<typeof callApi>[0]> = {}) {
  return callApi<{ ok: boolean }>({ method: 'GET', url, endpoint: 'GET /thing', retry, timeoutMs: 5_000, ...extra });
}

describe('retry schedule', () => {
  it('uses full jitter under an exponential, capped ceiling', () => {
    const config = resolveRetry({ baseDelayMs: 100, maxDelayMs: 1_000 });
    expect([0, 1, 2, 3, 4, 5].map((retry) => backoffDelay(retry, config, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(3, config, () => 0)).toBe(0);
    expect(backoffDelay(1, config, () => 0.5)).toBe(100);
  });

  it('waits the injected backoff between attempts and reports each retry', async () => {
    const waits: number[] = [];
    const events: number[] = [];
    let attempts = 0;
    const result = await withRetry(
      async () => {
        attempts++;
        if (attempts < 4) throw new ServerError({ status: 503, endpoint: 'GET /x' });
        return 'done';
      },
      resolveRetry({ baseDelayMs: 100, maxDelayMs: 250 }),
      { random: () => 0.5, sleep: async (ms) => void waits.push(ms), onRetry: (e) => events.push(e.retry) },
    );
    expect(result).toBe('done');
    expect(waits).toEqual([50, 100, 125]);
    expect(events).toEqual([1, 2, 3]);
  });

  it('does not retry a 400 and gives up after maxRetries with the count in the error', async () => {
    let attempts = 0;
    await expect(
      withRetry(async () => {
        attempts++;
        throw new InvalidRequestError({ status: 400, endpoint: 'GET /x', serverMessage: 'bad' });
      }, fast),
    ).rejects.toBeInstanceOf(InvalidRequestError);
    expect(attempts).toBe(1);

    const error = await rejection<ServerError>(
      withRetry(async () => {
        throw new ServerError({ status: 500, endpoint: 'GET /x', serverMessage: 'boom' });
      }, { ...fast, maxRetries: 2 }),
    );
    expect(error.retries).toBe(2);
    expect(error.message).toContain('after 2 retries');
    expect(error.message).toContain('boom');
  });

  it('validates retry options', () => {
    expect(() => resolveRetry({ maxRetries: -1 })).toThrow(ConfigError);
    expect(() => resolveRetry({ baseDelayMs: 1.5 })).toThrow(/retry.baseDelayMs/);
    expect(resolveRetry(false).maxRetries).toBe(0);
  });
});

describe('Retry-After', () => {
  it('reads seconds, HTTP dates and retry-after-ms', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter({ 'retry-after': '3' }, now)).toBe(3_000);
    expect(parseRetryAfter({ 'retry-after': new Date(now + 7_000).toUTCString() }, now)).toBe(7_000);
    expect(parseRetryAfter({ 'retry-after-ms': '250', 'retry-after': '9' }, now)).toBe(250);
    expect(parseRetryAfter({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(parseRetryAfter({}, now)).toBeUndefined();
  });

  it('uses Retry-After (seconds) from a real 429 as a floor for the wait', async () => {
    server = await startTestServer(reply(429, { message: 'slow down' }, { 'retry-after': '1' }), reply(200, { ok: true }));
    const waits: number[] = [];
    const result = await withRetry(() => call(server!.url, fast, { retry: { ...fast, maxRetries: 0 } }), fast, {
      sleep: async (ms) => void waits.push(ms),
    });
    expect(result.data).toEqual({ ok: true });
    expect(waits).toEqual([1_000]);
  });

  it('uses an HTTP-date Retry-After from a real 503', async () => {
    const date = new Date(Date.now() + 2_000).toUTCString();
    server = await startTestServer(reply(503, { message: 'maintenance' }, { 'retry-after': date }), reply(200, { ok: true }));
    const waits: number[] = [];
    await withRetry(() => call(server!.url, { ...fast, maxRetries: 0 }), fast, { sleep: async (ms) => void waits.push(ms) });
    expect(waits[0]).toBeGreaterThan(500);
    expect(waits[0]).toBeLessThanOrEqual(2_000);
  });

  it('refuses at once when the server asks to wait longer than maxRetryAfterMs', async () => {
    server = await startTestServer(reply(429, { message: 'quota exhausted' }, { 'retry-after': '3600' }));
    const error = await rejection<RateLimitError>(call(server.url, { ...fast, maxRetryAfterMs: 60_000 }));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.message).toMatch(/asked to wait 3600 s/);
    expect(server.requests).toHaveLength(1);
  });
});

describe('retries over real HTTP', () => {
  it('retries 408/409/429/5xx and then succeeds', async () => {
    server = await startTestServer(
      reply(408, {}),
      reply(409, {}),
      reply(429, {}),
      reply(500, {}),
      reply(502, 'bad gateway'),
      reply(200, { ok: true }),
    );
    const result = await call(server.url);
    expect(result.data).toEqual({ ok: true });
    expect(result.retries).toBe(5);
  });

  it('can be turned off per request', async () => {
    server = await startTestServer(reply(503, { message: 'down' }), reply(200, { ok: true }));
    await expect(call(server.url, resolveRetry(false))).rejects.toBeInstanceOf(ServerError);
    expect(server.requests).toHaveLength(1);
  });

  it('retries a body cut short (Content-Length longer than the body)', async () => {
    server = await startTestServer(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"ok": tr', () => res.socket?.end());
      },
      reply(200, { ok: true }),
    );
    const result = await call(server.url);
    expect(result.data).toEqual({ ok: true });
    expect(result.retries).toBe(1);
  });

  it('retries a connection reset and a refused connection', async () => {
    server = await startTestServer((req) => req.socket.resetAndDestroy(), reply(200, { ok: true }));
    expect((await call(server.url)).retries).toBe(1);

    const error = await rejection<ConnectionError>(call('http://127.0.0.1:1/', { ...fast, maxRetries: 2 }));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.retries).toBe(2);
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('times out a request whose headers never come, and retries it', async () => {
    server = await startTestServer(() => {}, reply(200, { ok: true }));
    const result = await call(server.url, fast, { timeoutMs: 100 });
    expect(result.retries).toBe(1);
    expect(server.requests).toHaveLength(2);
  });

  it('fails with TimeoutError when a body stalls past timeoutMs', async () => {
    server = await startTestServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"ok":');
    });
    const error = await rejection<TimeoutError>(call(server.url, { ...fast, maxRetries: 1 }, { timeoutMs: 100 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.retries).toBe(1);
  });
});

describe('abort', () => {
  it('aborts an in-flight request at once with AbortError', async () => {
    server = await startTestServer(() => {});
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    const error = await rejection(call(server.url, fast, { signal: controller.signal }));
    expect(error).toBeInstanceOf(AbortError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('cancels a pending backoff wait at once', async () => {
    server = await startTestServer(reply(503, {}, { 'retry-after': '60' }));
    const controller = new AbortController();
    const pending = call(server.url, fast, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(server.requests).toHaveLength(1);
  });

  it('sleep rejects when already aborted', async () => {
    await expect(sleep(10, AbortSignal.abort())).rejects.toBeInstanceOf(AbortError);
  });
});

describe('streamed bodies (requestStream)', () => {
  it('bounds the wait for headers by timeoutMs', async () => {
    server = await startTestServer(() => {});
    const error = await rejection(requestStream({ method: 'GET', url: server.url, endpoint: 'GET /download', timeoutMs: 100 }));
    expect(error).toBeInstanceOf(TimeoutError);
  });

  it('lets a long body flow past timeoutMs, but fails a body that stalls for idleTimeoutMs', async () => {
    server = await startTestServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      // Three lines, 120 ms apart: longer in all than timeoutMs, never idle for idleTimeoutMs.
      let sent = 0;
      const timer = setInterval(() => {
        res.write(`{"n":${sent}}\n`);
        if (++sent === 3) {
          clearInterval(timer);
          if (req.url === '/stall') return; // and then nothing more, without ending
          res.end();
        }
      }, 120);
    });
    const ok = await requestStream({ method: 'GET', url: `${server.url}/ok`, endpoint: 'GET /ok', timeoutMs: 200, idleTimeoutMs: 1_000 });
    let text = '';
    for await (const chunk of ok.body) text += chunk;
    expect(text.trim().split('\n')).toHaveLength(3);

    const stalled = await requestStream({ method: 'GET', url: `${server.url}/stall`, endpoint: 'GET /stall', timeoutMs: 200, idleTimeoutMs: 300 });
    const error = await rejection((async () => {
      for await (const _chunk of stalled.body);
    })());
    expect(error).toBeInstanceOf(TimeoutError);
  });
});
