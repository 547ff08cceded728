/**
 * One HTTP layer for the whole library: a shared keep-alive undici Agent, whole-request timeouts,
 * caller abort, and low-level failures mapped to our typed errors. It knows nothing of retries
 * or vendors; `api.ts` and `retry.ts` build on it.
 */
import { PassThrough, Readable } from 'node:stream';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import { AbortError, ConnectionError, InferenceStreamsError, RequestBodyError, TimeoutError, TransportError } from './errors.js';
import { VERSION } from './version.js';

/** Default whole-request timeout (headers and body), in ms. */
export const DEFAULT_TIMEOUT_MS = 120_000;
/** Default longest pause in a streamed body, in ms. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** Default bound on open connections per origin. */
export const DEFAULT_CONNECTIONS = 32;

export const USER_AGENT = `inference-streams/${VERSION}`;

const agents = new Map<number, Agent>();

/**
 * The shared keep-alive Agent for a given per-origin connection bound. Sharing one Agent lets
 * every stream reuse warm sockets instead of paying a TCP handshake per request.
 */
export function getAgent(connections = DEFAULT_CONNECTIONS): Agent {
  let agent = agents.get(connections);
  if (!agent) {
    agent = new Agent({
      connections,
      keepAliveTimeout: 10_000,
      // Our own timer bounds the whole request; undici's inactivity timers only catch hangs.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    agents.set(connections, agent);
  }
  return agent;
}

/** Close every shared Agent (lets a CLI or test process exit without waiting for keep-alive). */
export async function closeAgents(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((agent) => agent.close()));
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD';

export interface HttpRequest {
  method: HttpMethod;
  /** Absolute URL. Its query string never appears in errors (see `endpoint`). */
  url: string;
  /** Label for errors and stats: method + path, e.g. `GET /v1/data/ns/requests/{id}`. */
  endpoint: string;
  headers?: Record<string, string>;
  /**
   * A string/Buffer, or a stream (then pass `content-length` in `headers` if the server needs one).
   * A stream is read once and destroyed when the request ends; a failure of its own (say, its file
   * cannot be read) rejects with that error when it is ours (e.g. `JsonlError`), else with
   * {@link RequestBodyError}, never retried, while a connection lost as it is sent is a
   * {@link ConnectionError}, like any other.
   */
  body?: string | Buffer | Readable;
  /**
   * Whole-request timeout covering headers and body. Default 120 000 ms. For `requestStream()`
   * it covers the wait for headers only; the body is then bounded by `idleTimeoutMs`.
   */
  timeoutMs?: number;
  /** `requestStream()` only: longest pause while the body is read, in ms. Default 60 000. */
  idleTimeoutMs?: number;
  /** Aborts the request at once; the promise rejects with {@link AbortError}. */
  signal?: AbortSignal;
  /** Connections per origin for the shared Agent. Default 32. */
  connections?: number;
  /** Do not add the `User-Agent` header (e.g. for pre-signed uploads that sign their headers). */
  bare?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body decoded as UTF-8 (decoded when first read: a caller of `body` alone never pays for it). */
  text: string;
  /** The body as received. */
  body: Buffer;
  /** Bytes of body received. */
  bytes: number;
}

export interface HttpStreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body. The timeout keeps running until it ends; destroy it if you do not read it. */
  body: Readable;
}

/** Send a request and read the whole body as text. Every status is returned, never thrown. */
export async function request(req: HttpRequest): Promise<HttpResponse> {
  const guard = new RequestGuard(req);
  const outgoing = req.body instanceof Readable ? new OutgoingBody(req.body) : undefined;
  let response: HttpResponse;
  try {
    const res = await undiciRequest(req.url, { ...guard.options(), ...(outgoing ? { body: outgoing.relay } : {}) });
    const buffer = Buffer.from(await res.body.arrayBuffer());
    let text: string | undefined;
    response = {
      status: res.statusCode,
      headers: res.headers,
      body: buffer,
      get text() {
        return (text ??= buffer.toString('utf8'));
      },
      bytes: buffer.length,
    };
  } catch (error) {
    throw outgoing?.failure(req.endpoint) ?? guard.translate(error);
  } finally {
    outgoing?.dispose();
    guard.dispose();
  }
  // The server may answer before it notices that the body fell short: the body's failure comes first.
  const failure = outgoing?.failure(req.endpoint);
  if (failure) throw failure;
  return response;
}

/**
 * A request body stream as undici reads it: through a relay, because undici destroys the stream it
 * reads with the socket's error when the connection drops mid-body. The caller's stream only ever
 * fails on its own (a read error of its file, a bad line found while it streams), so the two stay
 * apart: the first is a transport failure (retried with a fresh body), the second is not.
 */
class OutgoingBody {
  readonly relay = new PassThrough();
  private ownError: Error | undefined;

  constructor(private readonly source: Readable) {
    // 'on', not 'once': a stream may emit a second error while it is torn down.
    source.on('error', (error: Error) => {
      if (this.relay.destroyed) return;
      this.ownError = error;
      this.relay.destroy(error);
    });
    // The relay is gone (sent, or cut by the socket): stop reading the source.
    this.relay.once('close', () => source.destroy());
    source.pipe(this.relay);
  }

  /** The body's own failure, if it had one: ours as it is (e.g. `JsonlError`), any other as a {@link RequestBodyError}. */
  failure(endpoint: string): Error | undefined {
    const error = this.ownError;
    if (error === undefined || error instanceof InferenceStreamsError) return error;
    return new RequestBodyError(endpoint, `the request body could not be read (${error.message})`, { cause: error, code: errorCode(error) });
  }

  dispose(): void {
    this.source.destroy();
    this.relay.destroy();
  }
}

/**
 * Send a request and return the body as a stream, for downloads of unbounded size: `timeoutMs`
 * bounds the wait for headers, `idleTimeoutMs` any pause in the body (a download may take long,
 * but must not hang). The caller's signal still applies while the body is read.
 */
export async function requestStream(req: HttpRequest): Promise<HttpStreamResponse> {
  const guard = new RequestGuard(req);
  let res: Dispatcher.ResponseData<unknown>;
  try {
    res = await undiciRequest(req.url, { ...guard.options(), bodyTimeout: req.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS });
  } catch (error) {
    guard.dispose();
    throw guard.translate(error);
  }
  guard.stopTimer();
  const body = res.body;
  const translateBodyError = (error: Error) => guard.translate(error);
  body.once('close', () => guard.dispose());
  // Readers see our typed errors, not undici's.
  const originalDestroy = body.destroy.bind(body);
  body.destroy = ((error?: Error) => originalDestroy(error ? translateBodyError(error) : undefined)) as typeof body.destroy;
  return { status: res.statusCode, headers: res.headers, body };
}

/** Timeout + caller signal for one request, and the mapping of what undici throws. */
class RequestGuard {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private readonly onCallerAbort: () => void;

  constructor(private readonly req: HttpRequest) {
    const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
      this.timer = setTimeout(() => {
        this.timedOut = true;
        this.controller.abort();
      }, timeoutMs);
      this.timer.unref?.();
    }
    this.onCallerAbort = () => this.controller.abort();
    if (req.signal?.aborted) this.controller.abort();
    else req.signal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  options(): Parameters<typeof undiciRequest>[1] {
    const headers: Record<string, string> = { ...(this.req.bare ? {} : { 'user-agent': USER_AGENT }), ...this.req.headers };
    return {
      method: this.req.method,
      headers,
      body: this.req.body,
      signal: this.controller.signal,
      dispatcher: getAgent(this.req.connections),
    };
  }

  /** The answer has started: from here on a streamed body is bounded by its idle timeout. */
  stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.req.signal?.removeEventListener('abort', this.onCallerAbort);
  }

  translate(error: unknown): Error {
    if (error instanceof TransportError || error instanceof AbortError) return error;
    const endpoint = this.req.endpoint;
    if (this.req.signal?.aborted) return new AbortError(`${endpoint}: aborted`, { cause: this.req.signal.reason });
    if (this.timedOut) {
      return new TimeoutError(endpoint, `no complete response within ${this.req.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`, { code: 'ETIMEDOUT' });
    }
    const code = errorCode(error);
    const message = error instanceof Error ? error.message : String(error);
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new TimeoutError(endpoint, message, { cause: error, code });
    }
    if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
      // Our body was not the size we announced (its file changed while it was sent): a retry would not help.
      return new RequestBodyError(endpoint, `the request body did not match its Content-Length (${message})`, { cause: error, code });
    }
    if (code === 'UND_ERR_INVALID_ARG' || code === 'ERR_INVALID_URL' || code === 'ERR_INVALID_ARG_TYPE') {
      // A programming or configuration error: retrying would not help.
      return error instanceof Error ? error : new Error(message);
    }
    const what = code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' ? 'response body cut short' : 'connection failed';
    return new ConnectionError(endpoint, `${what} (${code ?? 'unknown'}: ${message})`, { cause: error, code });
  }
}

function errorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const cause = (error as { cause?: unknown }).cause;
    if (cause && cause !== error) return errorCode(cause);
  }
  return undefined;
}

/** First value of a header, lower-cased name. */
export function headerValue(headers: HttpResponse['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
