/**
 * One function per Innerworks endpoint, as plain promises over `callApi`. No stream code here.
 */
import { isUtf8 } from 'node:buffer';
import { errorFromResponse, parseJsonBody } from '../core/api.js';
import { arrayMemberLines } from '../core/array-member-lines.js';
import { ProtocolError } from '../core/errors.js';
import { request } from '../core/http.js';
import { jsonLine } from '../core/jsonl.js';
import { JsonLines } from '../core/json-lines.js';
import { withRetry, type ResolvedRetry, type RetryEvent } from '../core/retry.js';
import type { InferenceBatch } from './types.js';

/** The production base URL (seed 000). */
export const INNERWORKS_DEFAULT_BASE_URL = 'https://api.prod.innerworks.me';
export const INNERWORKS_BATCH_ENDPOINT = 'GET /api/v1/innerworks/inference/batch';
/** Appended to the message of a 401 so the user knows what to fix. */
export const INNERWORKS_AUTH_HINT = 'Check the apiKey option or the INNERWORKS_API_KEY environment variable';

/** Resolved connection settings shared by every call. */
export interface InnerworksClientConfig {
  baseUrl: string;
  apiKey: string;
  retry: ResolvedRetry;
  timeoutMs: number;
}

/** Which page to ask for: after a checkpoint, else from a start time, else from the beginning. */
export interface BatchQuery {
  batchSize: number;
  startTime?: number;
  checkpoint?: string;
}

export interface BatchResult {
  page: InferenceBatch;
  /** Body bytes of the successful response. */
  bytes: number;
  /** Retries made for this page. */
  retries: number;
}

/**
 * `GET /api/v1/innerworks/inference/batch`. A checkpoint wins over `startTime` (as the API
 * documents), so only one of them is sent. The checkpoint is URL-encoded: base64's `+`, `/` and
 * `=` must survive the query string.
 */
export async function getInferenceBatch(config: InnerworksClientConfig, query: BatchQuery, call: BatchCall = {}): Promise<BatchResult> {
  const { text, bytes, retries } = await getInferenceBatchText(config, query, call);
  return { page: parseInferenceBatch(text), bytes, retries };
}

export interface BatchCall {
  signal?: AbortSignal;
  onRetry?: (event: RetryEvent) => void;
}

/** The request, returning the body text unparsed (see {@link getInferenceBatchBody}). */
export async function getInferenceBatchText(config: InnerworksClientConfig, query: BatchQuery, call: BatchCall = {}): Promise<{ text: string; bytes: number; retries: number }> {
  const { body, bytes, retries } = await getInferenceBatchBody(config, query, call);
  return { text: body.toString('utf8'), bytes, retries };
}

/**
 * The same request, returning the body's bytes unparsed, so that a cursor can ask for the next
 * page (see {@link peekCheckpoint}) while this one is parsed, and read it as objects
 * ({@link parseInferenceBatch}) or as JSON lines ({@link readInferenceBatchLines}). Retries and
 * HTTP errors are those of `callApi`, built from the same core pieces (Innerworks has no
 * `{status: "error"}` envelope, so that check of `callApi` is not needed).
 */
export async function getInferenceBatchBody(config: InnerworksClientConfig, query: BatchQuery, call: BatchCall = {}): Promise<{ body: Buffer; bytes: number; retries: number }> {
  const params = new URLSearchParams({ batch_size: String(query.batchSize) });
  if (query.checkpoint !== undefined) params.set('checkpoint', query.checkpoint);
  else if (query.startTime !== undefined) params.set('start_time', String(query.startTime));
  const url = `${config.baseUrl}/api/v1/innerworks/inference/batch?${params}`;
  return withRetry(
    async (retries) => {
      const response = await request({
        method: 'GET',
        url,
        endpoint: INNERWORKS_BATCH_ENDPOINT,
        headers: { accept: 'application/json', 'x-api-key': config.apiKey },
        timeoutMs: config.timeoutMs,
        signal: call.signal,
      });
      if (response.status < 200 || response.status >= 300) throw errorFromResponse(response, INNERWORKS_BATCH_ENDPOINT, INNERWORKS_AUTH_HINT);
      return { body: response.body, bytes: response.bytes, retries };
    },
    config.retry,
    { signal: call.signal, onRetry: call.onRetry, target: url },
  );
}

/**
 * Parse a page body with `JSON.parse` and check it can be followed. `where` names the page in
 * errors (e.g. `page 3 (after checkpoint …)`).
 */
export function parseInferenceBatch(text: string, where = 'the page'): InferenceBatch {
  return checkBatch(parseJsonBody<unknown>(text, INNERWORKS_BATCH_ENDPOINT), where);
}

/** A page read as JSON lines: each result's JSON text on a line of its own, never an object. */
export interface InferenceBatchLines {
  results: JsonLines;
  checkpoint?: string;
}

/**
 * A page body (taken: its bytes are reused) as JSON lines, with every check of
 * {@link parseInferenceBatch}: the lines are the results' bytes as the server sent them
 * (whitespace between tokens dropped), checked as JSON on the bytes (`core/array-member-lines.ts`).
 * A body that reader does not take whole (not UTF-8, not JSON, a result that is not an object,
 * nested deeper than MAX_JSON_DEPTH, ...) goes through `parseInferenceBatch` as before: its
 * error, or its records as `JSON.stringify` writes them.
 */
export function readInferenceBatchLines(body: Buffer, where = 'the page'): InferenceBatchLines {
  const read = isUtf8(body) ? arrayMemberLines(body, 'results') : undefined;
  if (read === undefined) {
    const page = parseInferenceBatch(body.toString('utf8'), where);
    return { results: JsonLines.fromTexts(page.results.map((record) => jsonLine(record)!)), checkpoint: page.checkpoint };
  }
  const checkpoint = read.member('checkpoint');
  return checkPosition({ results: read.lines, checkpoint: checkpoint === undefined ? undefined : JSON.parse(checkpoint) });
}

// The body ends with the top-level `"checkpoint":"…"}` (a nested key would be followed by more
// closing brackets), so this match is exact when it matches; other key orders simply do not.
const TRAILING_CHECKPOINT = /"checkpoint"\s*:\s*"([A-Za-z0-9+/=_-]+)"\s*\}\s*$/;

/**
 * The checkpoint of a page body read from its end, without parsing the page, or undefined when
 * the body does not end with it. The value is still opaque: it is only sent back, and checked
 * against the parsed page.
 */
export function peekCheckpoint(body: Buffer): string | undefined {
  // latin1: the match is ASCII, and a multi-byte character cut at the slice's start cannot fake one.
  return TRAILING_CHECKPOINT.exec(body.toString('latin1', Math.max(0, body.length - 4096)))?.[1];
}

/**
 * A page we can follow safely: a `results` array of objects, and a checkpoint whenever it is not
 * empty. Every element is checked before any is handed on: a `null` pushed into a Readable ends
 * it, silently dropping the rest of the export, and a number or string is no result at all.
 */
function checkBatch(data: unknown, where: string): InferenceBatch {
  if (typeof data !== 'object' || data === null || !Array.isArray((data as InferenceBatch).results)) {
    throw new ProtocolError(INNERWORKS_BATCH_ENDPOINT, 'response has no "results" array');
  }
  const page = data as InferenceBatch;
  const results: unknown[] = page.results;
  for (let index = 0; index < results.length; index++) {
    const record = results[index];
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      const what = record === null ? 'null' : Array.isArray(record) ? 'an array' : `a ${typeof record}`;
      throw new ProtocolError(INNERWORKS_BATCH_ENDPOINT, `results[${index}] of ${where} is ${what}, not a result object; nothing of this page was used`);
    }
  }
  return checkPosition(page);
}

/** The page's checkpoint can be followed: a non-empty string whenever there are results. */
function checkPosition<Page extends { results: { length: number }; checkpoint?: unknown }>(page: Page): Page & { checkpoint?: string } {
  // The end of the data may come with a null or empty checkpoint: nothing to follow, so no position.
  if (page.results.length === 0 && (page.checkpoint === null || page.checkpoint === '')) delete page.checkpoint;
  if (page.checkpoint !== undefined && (typeof page.checkpoint !== 'string' || page.checkpoint.length === 0)) {
    throw new ProtocolError(INNERWORKS_BATCH_ENDPOINT, 'response "checkpoint" is not a non-empty string');
  }
  if (page.results.length > 0 && page.checkpoint === undefined) {
    throw new ProtocolError(INNERWORKS_BATCH_ENDPOINT, `a page of ${page.results.length} results came without a "checkpoint", so the next page cannot be asked for`);
  }
  return page as Page & { checkpoint?: string };
}
