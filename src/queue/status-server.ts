/**
 * `serveStatus()`: a small live page of a queued job, or of a queue's jobs (`status --serve`),
 * for a browser. The page polls `GET /status.json`, whose body is the document `status --json`
 * prints (`?id=ID` for one job of the list); Redis is read at most once per `refreshMs` for each
 * of them however many browsers poll. Plain HTML, CSS and JS from this
 * package (no build step, no CDN: the machine may be offline). The page has no authentication:
 * it listens on 127.0.0.1 unless told otherwise, and then answers only to a loopback Host header
 * (a web page the operator visits cannot read it through DNS rebinding).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { ConfigError, redact } from '../core/errors.js';
import { integerOption, stringOption } from '../core/options.js';
import { REDIS_TIMEOUT_MS, checkRedisUrl } from './bullmq.js';
import { readStatusDocument, type StatusDocument, type StatusListDocument } from './status-document.js';
import { STATUS_PAGE_CSS, STATUS_PAGE_HTML, STATUS_PAGE_JS } from './status-page.js';

/** The interface the page listens on unless `host` says otherwise: this machine only. */
export const STATUS_DEFAULT_HOST = '127.0.0.1';
/** The least time between two reads of Redis, ms. */
export const STATUS_REFRESH_MS = 1000;

export interface ServeStatusOptions {
  /** Redis, `redis://HOST:PORT`. Required. */
  queue: string;
  /**
   * The job to show: the id `enqueueExport` or `enqueuePredictions` returned. Default: the
   * queue's newest `limit` jobs, each with a page of its own (`?id=ID`).
   */
  exportId?: string;
  /** Without `exportId`: how many of the newest jobs the page lists, 1..1000. Default 20. */
  limit?: number;
  /** TCP port, 0..65 535; 0 picks a free one (read it from `url`). Default 0. */
  port?: number;
  /**
   * The interface to listen on. Default `127.0.0.1` (this machine only). The page has no
   * authentication: anyone who can reach another interface sees the job's ids, ranges, failure
   * reasons and the workers' hosts.
   */
  host?: string;
  /** The least time between two reads of Redis (of the list, or of one job), ms, 250..60 000; polls in between get the last read. Default 1000. */
  refreshMs?: number;
  /** How long to wait for Redis to answer before failing with a ConnectionError, ms, 100..600 000. Default 10 000. */
  redisTimeoutMs?: number;
  /** Closes the server when aborted. */
  signal?: AbortSignal;
}

export interface StatusServer {
  /** Where the page is, e.g. `http://127.0.0.1:8080/`. */
  url: string;
  host: string;
  port: number;
  /** True when `host` is not a loopback interface (the page is reachable from other machines, unauthenticated). */
  exposed: boolean;
  /** Stop listening and close every open connection. */
  close(): Promise<void>;
}

/**
 * Serve the live status page of one queued job, or of the queue's newest jobs. The status is read
 * once before listening, so a wrong id or an unreachable Redis fails here (a `ConfigError` or
 * `ConnectionError`) rather than on the page.
 */
export async function serveStatus(options: ServeStatusOptions): Promise<StatusServer> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  const queue = checkRedisUrl(options.queue);
  const exportId = stringOption('exportId', options.exportId);
  const limit = integerOption('limit', options.limit, 20, 1, 1000);
  const port = integerOption('port', options.port, 0, 0, 65_535);
  const host = stringOption('host', options.host) ?? STATUS_DEFAULT_HOST;
  const refreshMs = integerOption('refreshMs', options.refreshMs, STATUS_REFRESH_MS, 250, 60_000);
  const redisTimeoutMs = integerOption('redisTimeoutMs', options.redisTimeoutMs, REDIS_TIMEOUT_MS, 100, 600_000);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new ConfigError('signal', 'must be an AbortSignal', options.signal);
  options.signal?.throwIfAborted();

  const readJob = (id: string) => throttled(() => readStatusDocument({ queue, exportId: id, redisTimeoutMs }), refreshMs);
  const readOne = exportId === undefined ? undefined : readJob(exportId);
  const readList = exportId === undefined ? throttled(() => readStatusDocument({ queue, limit, redisTimeoutMs }), refreshMs) : undefined;
  // The listed jobs' own pages: only ids of the list, so that a poll cannot make the server read
  // any id it is given.
  const listed = new Map<string, () => Promise<StatusDocument>>();
  const read = async (id: string | null): Promise<StatusDocument | StatusListDocument | undefined> => {
    if (readOne) return id === null || id === exportId ? readOne() : undefined;
    const list = await readList!();
    if (id === null) return list;
    for (const known of listed.keys()) if (!list.jobs.some((job) => job.id === known)) listed.delete(known);
    if (!list.jobs.some((job) => job.id === id)) return undefined;
    let reader = listed.get(id);
    if (!reader) listed.set(id, (reader = readJob(id)));
    return reader();
  };
  await read(null);
  options.signal?.throwIfAborted();
  const exposed = !isLoopback(host);
  let allowedHosts = new Set<string>();

  const server = createServer((req, res) => {
    respond(req, res).catch(() => res.destroy());
  });
  async function respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    if (!exposed && !allowedHosts.has((req.headers.host ?? '').toLowerCase())) {
      return send(res, 421, 'text/plain; charset=utf-8', 'This status page answers only to a loopback address (127.0.0.1, localhost or [::1]) with its port.\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'Only GET and HEAD.\n', { allow: 'GET, HEAD' });
    const url = new URL(req.url ?? '/', 'http://localhost');
    switch (url.pathname) {
      case '/':
      case '/index.html':
        return send(res, 200, 'text/html; charset=utf-8', STATUS_PAGE_HTML);
      case '/status.css':
        return send(res, 200, 'text/css; charset=utf-8', STATUS_PAGE_CSS);
      case '/status.js':
        return send(res, 200, 'text/javascript; charset=utf-8', STATUS_PAGE_JS);
      case '/status.json': {
        const id = url.searchParams.get('id');
        let document: StatusDocument | StatusListDocument | undefined;
        try {
          document = await read(id);
        } catch (error) {
          // The page says it and polls on: Redis may come back.
          const { name, message } = error instanceof Error ? error : new Error(String(error));
          return send(res, 503, 'application/json', JSON.stringify({ command: 'status', error: { name, message: redact(message) } }));
        }
        if (!document) {
          const message = readOne ? `this page shows ${exportId} only` : `no job with this id among the ${limit} newest of the queue`;
          return send(res, 404, 'application/json', JSON.stringify({ command: 'status', error: { name: 'NotFoundError', message } }));
        }
        return send(res, 200, 'application/json', JSON.stringify(document));
      }
      case '/favicon.ico':
        return send(res, 204, 'text/plain', '');
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'Not found. The page is at /, its data at /status.json.\n');
    }
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, host, port));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;
  allowedHosts = new Set([`127.0.0.1:${address.port}`, `localhost:${address.port}`, `[::1]:${address.port}`, `${urlHost.toLowerCase()}:${address.port}`]);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      options.signal?.removeEventListener('abort', onAbort);
      server.close(() => resolve());
      // Browsers keep their polling connections open: without this, close() would wait for them.
      server.closeAllConnections();
    });
    return closing;
  };
  const onAbort = () => void close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) void close();
  return { url: `http://${urlHost}:${address.port}/`, host, port: address.port, exposed, close };
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // Defence in depth: the page renders data with textContent; no inline script, nothing from elsewhere.
    'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * `read` called at most once per `intervalMs`: callers in between (and while a read is under
 * way) share the last read's promise, its failure included, so a page open in many browsers
 * costs Redis one read a second.
 */
function throttled<T>(read: () => Promise<T>, intervalMs: number): () => Promise<T> {
  let last: { startedAt: number; settled: boolean; promise: Promise<T> } | undefined;
  return () => {
    if (last && (!last.settled || Date.now() - last.startedAt < intervalMs)) return last.promise;
    const current = { startedAt: Date.now(), settled: false, promise: read() };
    const settle = () => {
      current.settled = true;
    };
    current.promise.then(settle, settle);
    last = current;
    return current.promise;
  };
}

/** True for an interface only this machine reaches. */
export function isLoopback(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  if (error.code === 'EADDRINUSE') return new ConfigError('port', `is in use on ${host}: choose another, or 0 for a free one`, port);
  if (error.code === 'EACCES') return new ConfigError('port', `may not be opened by this user on ${host} (ports below 1024 need privileges): choose another`, port);
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return new ConfigError('host', `is not an interface of this machine (${error.code})`, host);
  return error;
}
