/**
 * The emulator's one `node:http` server: routes requests to the vendor modules, and wraps every
 * answer in the same latency, fault injection and per-route stats.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { FaultPlan } from './faults.js';
import { BodyTooLargeError, json, pause, readBody } from './http-util.js';
import type { EmulatorContext, EmulatorResponse, FaultKind, FaultOptions, Route, RouteStats } from './types.js';

export interface ServerOptions {
  host: string;
  port: number;
  seed: number;
  /** Added before every answer, in ms. */
  latencyMs: number;
  faults?: FaultOptions;
}

export interface RunningServer {
  url: string;
  port: number;
  context: EmulatorContext;
  faults: FaultPlan;
  addRoutes(routes: Route[]): void;
  stats(): Record<string, RouteStats>;
  resetStats(): void;
  close(): Promise<void>;
}

const DEFAULT_BODY_LIMIT = 64 * 1024 * 1024;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const routes: Route[] = [];
  let stats = new Map<string, RouteStats>();
  const closing = new AbortController();
  const faults = new FaultPlan(options.faults, options.seed);
  let baseUrl = '';
  const context: EmulatorContext = { baseUrl: () => baseUrl, seed: options.seed, signal: closing.signal };

  const statsFor = (name: string): RouteStats => {
    let entry = stats.get(name);
    if (!entry) {
      entry = { requests: 0, concurrent: 0, maxConcurrent: 0, faults: 0, bytesIn: 0, bytesOut: 0, statuses: {} };
      stats.set(name, entry);
    }
    return entry;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, json(500, { status: 'error', message: `emulator error: ${(error as Error).message}` }));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  // Uploads of a few GB take a while on a busy machine; the default 5-minute limit is too short.
  server.requestTimeout = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    const method = req.method ?? 'GET';
    let matched: Route | undefined;
    let params: Record<string, string> = {};
    let pathMatched = false;
    for (const route of routes) {
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      matched = route;
      params = Object.fromEntries(Object.entries(match.groups ?? {}).map(([k, v]) => [k, safeDecode(v)]));
      break;
    }
    const routeStats = statsFor(matched?.name ?? 'unmatched');
    routeStats.requests++;
    routeStats.concurrent++;
    routeStats.maxConcurrent = Math.max(routeStats.maxConcurrent, routeStats.concurrent);
    // Counted from Content-Length: a 'data' listener here would start the body flowing before the handler reads it.
    routeStats.bytesIn += Number(req.headers['content-length'] ?? 0) || 0;
    res.once('close', () => routeStats.concurrent--);

    if (!matched) {
      req.resume();
      return finish(routeStats, res, json(pathMatched ? 405 : 404, { status: 'error', message: pathMatched ? `method ${method} not allowed` : `no route for ${url.pathname}` }));
    }
    const fault = faults.next(matched.name);
    if (fault) routeStats.faults++;
    await pause(options.latencyMs, closing.signal);

    if (fault === '429' || fault === '500' || fault === '502' || fault === '503') {
      req.resume();
      const headers: Record<string, string> = {};
      if (fault === '429') {
        headers['retry-after'] = String(Math.ceil(faults.settings.retryAfterMs / 1000));
        headers['retry-after-ms'] = String(faults.settings.retryAfterMs);
      }
      const message = fault === '429' ? 'Too many requests (injected fault)' : `Injected fault ${fault}`;
      return finish(routeStats, res, json(Number(fault), { status: 'error', message, statusCode: Number(fault) }, headers));
    }
    if (fault === 'reset' && (matched.resetMidBody === true || faults.coin())) {
      // Reset before any answer: the handler never runs, as if the connection dropped in transit.
      resetAfterFirstBytes(req);
      return;
    }

    let response: EmulatorResponse;
    try {
      response = await matched.handle({
        method,
        url,
        params,
        headers: req.headers,
        raw: req,
        body: (limit = DEFAULT_BODY_LIMIT) => readBody(req, limit),
        signal: closing.signal,
      });
    } catch (error) {
      if (error instanceof BodyTooLargeError) response = json(413, { status: 'error', message: error.message });
      else throw error;
    }
    if (response.delayMs) await pause(response.delayMs, closing.signal);
    return finish(routeStats, res, response, fault);
  }

  function finish(routeStats: RouteStats, res: ServerResponse, response: EmulatorResponse, fault?: FaultKind): void {
    routeStats.statuses[response.status] = (routeStats.statuses[response.status] ?? 0) + 1;
    routeStats.bytesOut += send(res, response, fault);
  }

  function send(res: ServerResponse, response: EmulatorResponse, fault?: FaultKind): number {
    if (response.body instanceof Readable) {
      // A body generated on the fly (a large download): sent chunked, never held in memory.
      const stream = response.body;
      res.writeHead(response.status, { 'content-type': 'application/json', ...response.headers });
      stream.once('data', () => fault === 'reset' && res.socket?.resetAndDestroy());
      stream.once('error', () => res.destroy());
      res.once('close', () => stream.destroy());
      stream.pipe(res);
      return 0;
    }
    const body = toBuffer(response.body);
    const headers: Record<string, string | number> = { 'content-type': 'application/json', ...response.headers, 'content-length': body.length };
    const half = body.subarray(0, Math.floor(body.length / 2));
    switch (fault) {
      case 'reset':
        res.writeHead(response.status, headers);
        res.write(half, () => res.socket?.resetAndDestroy());
        return half.length;
      case 'truncate':
        // Promise more than we send, then close cleanly: the client sees a short body.
        res.writeHead(response.status, { ...headers, 'content-length': body.length + 1024 });
        res.write(body, () => res.socket?.end());
        return body.length;
      case 'slow-headers':
        void pause(faults.settings.slowMs, closing.signal).then(() => !res.destroyed && res.writeHead(response.status, headers).end(body));
        return body.length;
      case 'slow-body':
        res.writeHead(response.status, headers);
        res.write(half);
        void pause(faults.settings.slowMs, closing.signal).then(() => !res.destroyed && res.end(body.subarray(half.length)));
        return body.length;
      default:
        res.writeHead(response.status, headers).end(body);
        return body.length;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `http://${host}:${address.port}`;

  return {
    url: baseUrl,
    port: address.port,
    context,
    faults,
    addRoutes: (more) => routes.push(...more),
    stats: () => Object.fromEntries([...stats].map(([name, s]) => [name, { ...s, statuses: { ...s.statuses } }])),
    resetStats: () => {
      stats = new Map();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        closing.abort();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * Drop the connection once the first bytes of the request body have arrived (at once when it
 * has none): a client still sending a large body sees the reset mid-body, as when a real
 * connection drops during an upload.
 */
function resetAfterFirstBytes(req: IncomingMessage): void {
  const reset = () => req.socket.resetAndDestroy();
  const length = Number(req.headers['content-length'] ?? 0);
  if (!(length > 0) && req.headers['transfer-encoding'] === undefined) return void reset();
  req.once('data', reset);
  req.once('end', reset);
}

function toBuffer(body: EmulatorResponse['body']): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body);
  return Buffer.from(JSON.stringify(body));
}

function safeDecode(value: string | undefined): string {
  if (value === undefined) return '';
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
