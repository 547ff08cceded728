/**
 * Emulator of the Innerworks batched inference results API (seed 000):
 * `GET /api/v1/innerworks/inference/batch` with `x-api-key`, `batch_size`, `start_time` and a
 * base64 `checkpoint`, error bodies byte for byte as documented.
 */
import { json } from './http-util.js';
import { InnerworksDataset } from './innerworks-data.js';
import type { EmulatorContext, EmulatorRequest, EmulatorResponse, Route } from './types.js';

export interface InnerworksEmulatorOptions {
  /** Records available at start. Default 10 000. */
  records?: number;
  /** Records appended per second while running (cursors stay consistent). Default 0. */
  growPerSecond?: number;
  /** Accepted `x-api-key` values; any non-empty key when omitted. Default any. */
  apiKeys?: string[];
  /** Timestamp of the first record, ms. Default 2024-01-01T00:00:00Z. */
  baseTime?: number;
  /**
   * Milliseconds between groups of 3 records sharing one timestamp. Default 1000, shrunk so that
   * the initial dataset ends before the emulator starts (a future `start_time` is the only 400).
   */
  stepMs?: number;
  /** Serialized pages kept for repeated requests (retries, benchmarks). Default 8. */
  pageCacheSize?: number;
}

export interface InnerworksControl {
  /** Add `n` records after the current last one (their timestamps are at or after now). */
  append(n: number): void;
  /** Records currently stored. */
  readonly size: number;
  /** The record at `index` as the JSON text the API serves (for tests). */
  recordJson(index: number): string;
  /** Timestamp (ms) of the record at `index`. */
  timestampOf(index: number): number;
}

const DEFAULT_BASE_TIME = Date.UTC(2024, 0, 1);
const MAX_BATCH = 5000;

/** The documented error bodies (seed 000), byte for byte. */
export const INNERWORKS_ERRORS = Object.freeze({
  batchSize: '{"cause":"batch_size","error":"batch_size must be between 1 and 5000"}',
  startTime: '{"cause":"start_time","error":"start_time must be before the current time"}',
  checkpoint: '{"cause":"checkpoint","error":"invalid checkpoint string"}',
  missingKey: '{"statusCode":401,"message":"Header x-api-key is required"}',
});

export function innerworksRoutes(options: InnerworksEmulatorOptions, context: EmulatorContext): { routes: Route[]; control: InnerworksControl } {
  const records = options.records ?? 10_000;
  const baseTime = options.baseTime ?? DEFAULT_BASE_TIME;
  const groups = Math.max(1, Math.ceil(records / 3));
  const roomMs = Date.now() - 60_000 - baseTime;
  const stepMs = options.stepMs ?? Math.max(1, Math.min(1000, Math.floor(roomMs / groups)));
  const data = new InnerworksDataset(context.seed, records, baseTime, stepMs);
  const apiKeys = options.apiKeys ? new Set(options.apiKeys) : undefined;
  const pages = new PageCache(options.pageCacheSize ?? 8);

  if (options.growPerSecond && options.growPerSecond > 0) startGrowth(data, options.growPerSecond, context.signal);

  const route: Route = {
    name: 'innerworks.batch',
    method: 'GET',
    pattern: /^\/api\/v1\/innerworks\/inference\/batch\/?$/,
    handle: (request) => handleBatch(request, data, apiKeys, pages),
  };
  const control: InnerworksControl = {
    append: (n) => data.append(n),
    get size() {
      return data.size;
    },
    recordJson: (index) => data.recordJson(index),
    timestampOf: (index) => data.timestampOf(index),
  };
  return { routes: [route], control };
}

function handleBatch(request: EmulatorRequest, data: InnerworksDataset, apiKeys: Set<string> | undefined, pages: PageCache): EmulatorResponse {
  const key = request.headers['x-api-key'];
  if (typeof key !== 'string' || key.length === 0) return raw(401, INNERWORKS_ERRORS.missingKey);
  if (apiKeys && !apiKeys.has(key)) return json(401, { statusCode: 401, message: 'Invalid API key' });

  const query = request.url.searchParams;
  const batchText = query.get('batch_size');
  let batchSize = 1000;
  if (batchText !== null) {
    batchSize = /^\d{1,7}$/.test(batchText) ? Number(batchText) : 0;
    if (batchSize < 1 || batchSize > MAX_BATCH) return raw(400, INNERWORKS_ERRORS.batchSize);
  }

  // A checkpoint wins over start_time (seed 000: "the start_time parameter is ignored").
  let position: [number, string];
  const checkpointText = query.get('checkpoint');
  if (checkpointText !== null) {
    const decoded = decodeCheckpoint(checkpointText);
    if (!decoded) return raw(400, INNERWORKS_ERRORS.checkpoint);
    position = decoded;
  } else {
    const startText = query.get('start_time');
    let startTime = 0;
    if (startText !== null) {
      if (!/^-?\d{1,16}$/.test(startText)) return json(400, { cause: 'start_time', error: 'start_time must be a Unix timestamp in milliseconds' });
      startTime = Number(startText);
      if (startTime > Date.now()) return raw(400, INNERWORKS_ERRORS.startTime);
    }
    // Strictly after (startTime, "") is every record at or after startTime.
    position = [startTime, ''];
  }

  const first = data.firstAfter(position[0], position[1]);
  const end = Math.min(first + batchSize, data.size);
  const body = pages.get(first, end, batchSize, () => {
    // An empty page still carries a checkpoint: the position asked from, so records appended
    // later are returned by it.
    const state: [number, string] = end > first ? [data.timestampOf(end - 1), data.requestIdOf(end - 1)] : position;
    return Buffer.concat([
      Buffer.from(`{"batchSize":${batchSize},"results":[`),
      data.recordsJson(first, end),
      Buffer.from(`],"checkpoint":"${encodeCheckpoint(state)}"}`),
    ]);
  });
  return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body };
}

/** `{"version":1,"state":[timestampMs,"requestId"]}` as base64, exactly the seed's shape. */
export function encodeCheckpoint(state: [number, string]): string {
  return Buffer.from(JSON.stringify({ version: 1, state })).toString('base64');
}

/** The position in a checkpoint, or undefined when it is not one we issued. */
export function decodeCheckpoint(text: string): [number, string] | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 === 1) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { version, state } = parsed as { version?: unknown; state?: unknown };
  if (version !== 1 || !Array.isArray(state) || state.length !== 2) return undefined;
  const [ts, requestId] = state as unknown[];
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || typeof requestId !== 'string') return undefined;
  return [ts, requestId];
}

function raw(status: number, body: string): EmulatorResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8' }, body };
}

function startGrowth(data: InnerworksDataset, perSecond: number, signal: AbortSignal): void {
  let last = Date.now();
  let owed = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    owed += ((now - last) / 1000) * perSecond;
    last = now;
    const n = Math.floor(owed);
    if (n > 0) {
      owed -= n;
      data.append(n, now);
    }
  }, 100);
  timer.unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}

/**
 * Serialized pages by (first index, end index, batch size): a repeated request (a retry, or a
 * benchmark reading the same page) is served without generating or serializing again.
 */
class PageCache {
  private readonly entries = new Map<string, Buffer>();
  constructor(private readonly capacity: number) {}

  get(first: number, end: number, batchSize: number, build: () => Buffer): Buffer {
    const key = `${first}:${end}:${batchSize}`;
    let body = this.entries.get(key);
    if (body) {
      this.entries.delete(key);
    } else {
      body = build();
      // Empty pages depend on the position asked from, not only on the range: do not cache them.
      if (end === first) return body;
    }
    this.entries.set(key, body);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    return body;
  }
}
