import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { callApi } from '../src/core/api.js';
import {
  ApiError,
  AuthenticationError,
  ConfigError,
  ConnectionError,
  InvalidRequestError,
  NotFoundError,
  PermissionDeniedError,
  ProtocolError,
  RateLimitError,
  ServerError,
  describeUrl,
  redact,
  registerSecret,
} from '../src/core/errors.js';
import { request } from '../src/core/http.js';
import { resolveSecret } from '../src/core/options.js';
import { resolveRetry } from '../src/core/retry.js';
import { reply, startTestServer, type TestServer } from './helpers/server.js';
import { rejection } from './helpers/rejection.js';

const SECRET_KEY = 'sk_live_9f8e7d6c5b4a3f2e1d0c';
const SECRET_TOKEN = 'tok.abcDEF123456.signedpart';
const SIGNATURE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const SIGNED_URL = `https://bucket.example/uploads/obj.jsonl?X-Amz-Credential=AKIAEXAMPLE%2F20260101&X-Amz-Signature=${SIGNATURE}&X-Amz-Expires=43200`;

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function assertNoSecret(error: unknown) {
  const texts = [String((error as Error).message), String((error as Error).stack), inspect(error), inspect(error, { depth: 10, showHidden: true }), JSON.stringify(error)];
  for (const text of texts) {
    expect(text).not.toContain(SECRET_KEY);
    expect(text).not.toContain(SECRET_TOKEN);
    expect(text).not.toContain(SIGNATURE);
  }
}

describe('redact', () => {
  it('removes header values, bearer tokens and signed query strings', () => {
    expect(redact(`x-api-key: ${SECRET_KEY}`)).toBe('x-api-key: [REDACTED]');
    expect(redact(`{"Authorization":"Bearer ${SECRET_TOKEN}"}`)).toBe('{"Authorization":"Bearer [REDACTED]"}');
    expect(redact(`PUT ${SIGNED_URL}`)).not.toContain(SIGNATURE);
    expect(redact(`PUT ${SIGNED_URL}`)).not.toContain('AKIAEXAMPLE');
    expect(redact('https://x.test/a?sig=abc&token=def&page=2')).toBe('https://x.test/a?sig=[REDACTED]&token=[REDACTED]&page=2');
    expect(describeUrl(SIGNED_URL)).toBe('https://bucket.example/uploads/obj.jsonl');
  });

  it('removes a registered secret wherever it appears', () => {
    registerSecret(SECRET_KEY);
    expect(redact(`the key ${SECRET_KEY} was refused`)).toBe('the key [REDACTED] was refused');
  });
});

describe('errors from real responses', () => {
  const cases: Array<[number, unknown, new (...args: never[]) => ApiError]> = [
    [400, { cause: 'batch_size', error: 'batch_size must be between 1 and 5000' }, InvalidRequestError],
    [401, { statusCode: 401, message: 'Header x-api-key is required' }, AuthenticationError],
    [403, { error: { message: 'forbidden' } }, PermissionDeniedError],
    [404, { status: 'error', message: 'Unknown model version' }, NotFoundError],
    [409, { message: 'conflict' }, InvalidRequestError],
    [413, { message: 'too large' }, InvalidRequestError],
    [422, { status: 'error', message: 'user property conflicts' }, InvalidRequestError],
    [429, { message: 'slow down' }, RateLimitError],
    [500, 'Internal Server Error', ServerError],
    [503, { message: 'unavailable' }, ServerError],
  ];
  for (const [status, body, ErrorClass] of cases) {
    it(`${status} → ${ErrorClass.name}`, async () => {
      server = await startTestServer(reply(status, body));
      const error = await rejection<ApiError>(callApi({
        method: 'GET',
        url: `${server.url}/api/v1/thing?checkpoint=abc`,
        endpoint: 'GET /api/v1/thing',
        retry: resolveRetry(false),
        timeoutMs: 5_000,
      }));
      expect(error).toBeInstanceOf(ErrorClass);
      expect(error.status).toBe(status);
      expect(error.endpoint).toBe('GET /api/v1/thing');
      expect(error.message).toContain(`HTTP ${status}`);
      expect(error.message).not.toContain('checkpoint=abc');
      if (typeof body === 'object' && body && 'cause' in body) {
        expect(error.serverCause).toBe('batch_size');
        expect(error.cause).toBe('batch_size');
        expect(error.message).toContain('batch_size must be between 1 and 5000');
      }
    });
  }

  it('a 2xx with status "error" is a ProtocolError, and so is an unparseable body', async () => {
    server = await startTestServer(reply(200, { status: 'error', message: 'model unavailable' }), reply(200, '{not json'));
    const call = () => callApi({ method: 'GET', url: server!.url, endpoint: 'GET /x', retry: resolveRetry(false), timeoutMs: 5_000 });
    await expect(call()).rejects.toThrow(ProtocolError);
    await expect(call()).rejects.toThrow(/not JSON/);
  });

  it('ConfigError names the option and the allowed range', () => {
    const error = new ConfigError('batchSize', 'must be an integer from 1 to 5000', 9000);
    expect(error.option).toBe('batchSize');
    expect(error.message).toBe('Invalid option "batchSize": must be an integer from 1 to 5000 (got 9000)');
  });
});

describe('secrets never leak', () => {
  it('a server that echoes the key, token and signed URL back', async () => {
    server = await startTestServer((req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' }).end(
        JSON.stringify({ message: `bad key ${req.headers['x-api-key']} / ${req.headers.authorization} for ${SIGNED_URL}` }),
      );
    });
    const key = resolveSecret('apiKey', SECRET_KEY, 'UNUSED_ENV');
    resolveSecret('token', SECRET_TOKEN, 'UNUSED_ENV');
    const error = await rejection<ApiError>(callApi({
      method: 'GET',
      url: `${server.url}/x`,
      endpoint: 'GET /x',
      headers: { 'x-api-key': key, authorization: `Bearer ${SECRET_TOKEN}` },
      retry: resolveRetry(false),
      timeoutMs: 5_000,
      authHint: 'Check INNERWORKS_API_KEY',
    }));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toContain('INNERWORKS_API_KEY');
    expect(error.message).toContain('[REDACTED]');
    assertNoSecret(error);
    assertNoSecret(new Error('wrapper', { cause: error }));
  });

  it('a server that echoes the key in its cause field', async () => {
    server = await startTestServer((req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ cause: `key ${req.headers['x-api-key']}`, error: 'bad' }));
    });
    registerSecret(SECRET_KEY);
    const error = await rejection<ApiError>(
      callApi({ method: 'GET', url: server.url, endpoint: 'GET /x', headers: { 'x-api-key': SECRET_KEY }, retry: resolveRetry(false), timeoutMs: 5_000 }),
    );
    expect(String(error.cause)).not.toContain(SECRET_KEY);
    expect(error.serverCause).not.toContain(SECRET_KEY);
    assertNoSecret(error);
  });

  it('a connection failure to a signed URL', async () => {
    const url = SIGNED_URL.replace('https://bucket.example', 'http://127.0.0.1:1');
    const error = await rejection(request({ method: 'PUT', url, endpoint: `PUT ${describeUrl(url)}`, body: 'x', timeoutMs: 2_000 }));
    expect(error).toBeInstanceOf(ConnectionError);
    assertNoSecret(error);
  });

  it('a ConfigError for a bad secret does not print the secret', () => {
    const error = (() => {
      try {
        resolveSecret('apiKey', `${SECRET_KEY}\n`, 'UNUSED_ENV');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    assertNoSecret(error);
  });
});
