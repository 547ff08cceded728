/**
 * The contract between the emulator's HTTP server and each vendor module: a vendor module is a
 * list of routes whose handlers return a response description; the server adds latency, faults
 * and stats around them, the same for every API.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

export interface EmulatorRequest {
  method: string;
  url: URL;
  /** Named groups of the route's pattern, URL-decoded. */
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The raw request, for handlers that stream a large body (uploads). */
  raw: IncomingMessage;
  /** Read the whole body. Rejects with `BodyTooLargeError` past `limitBytes` (default 64 MiB). */
  body(limitBytes?: number): Promise<Buffer>;
  /** Aborted when the emulator closes; handlers that wait should honour it. */
  signal: AbortSignal;
}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string>;
  /** A string or Buffer (sent with Content-Length), or a Readable (sent chunked). Objects are JSON-serialized. */
  body?: string | Buffer | Readable | object;
  /** Extra wait before answering (a latency model of the vendor's own). */
  delayMs?: number;
}

export interface Route {
  /** Stable name used in stats and fault targeting, e.g. `innerworks.batch`, `reinfer.predict`. */
  name: string;
  method: string;
  /** Matched against the URL path; named groups become `params`. */
  pattern: RegExp;
  handle(request: EmulatorRequest): EmulatorResponse | Promise<EmulatorResponse>;
  /**
   * An injected `reset` always drops the connection while the request body arrives, after its
   * first bytes (never after the answer began). For uploads: a long PUT is cut mid-body, where a
   * real connection drops; a lost answer after the body was stored is the `truncate` fault.
   * Default false: either, by the seeded coin.
   */
  resetMidBody?: boolean;
}

/** What a vendor module may use from the server. */
export interface EmulatorContext {
  /** The server's own base URL, e.g. `http://127.0.0.1:40123` (known once listening). */
  baseUrl(): string;
  /** Seed of the whole emulator; vendor modules derive their data from it. */
  seed: number;
  /** Aborted when the emulator closes. */
  signal: AbortSignal;
}

export type FaultKind = '429' | '500' | '502' | '503' | 'reset' | 'truncate' | 'slow-headers' | 'slow-body';
export const FAULT_KINDS: readonly FaultKind[] = ['429', '500', '502', '503', 'reset', 'truncate', 'slow-headers', 'slow-body'];

/** A fault for the `nth` request (1-based) on `route` (a route name or prefix such as `innerworks`), or on any route. */
export interface ScriptedFault {
  nth: number;
  kind: FaultKind;
  route?: string;
}

export interface FaultOptions {
  /** Share of requests that fail, 0..1. Default 0. */
  rate?: number;
  /** Kinds drawn from for random faults. Default every kind but the slow ones. */
  kinds?: FaultKind[];
  /** Seed of the fault draw, so a run is repeatable. Default the emulator's seed. */
  seed?: number;
  /** Only these routes (names or prefixes such as `reinfer`) get random faults. Default all. */
  routes?: string[];
  /** Faults by request number. */
  script?: ScriptedFault[];
  /** Retry-After sent with injected 429s, in ms (sent as `retry-after-ms` and rounded up in `Retry-After`). Default 1000. */
  retryAfterMs?: number;
  /** How long `slow-headers`/`slow-body` stall, in ms. Default 3000. */
  slowMs?: number;
}

export interface RouteStats {
  requests: number;
  /** Requests being handled right now. */
  concurrent: number;
  maxConcurrent: number;
  faults: number;
  bytesIn: number;
  bytesOut: number;
  /** Responses by status (injected faults included). */
  statuses: Record<string, number>;
}
