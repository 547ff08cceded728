/**
 * The SafetyKit emulator's memory: requests and their state machine, and the deterministic output
 * each object gets. Imports keep their uploaded JSONL in a temp file, never in memory; add requests
 * keep only their objects' ids.
 */
import { createReadStream } from 'node:fs';
import { hash32, hashString } from './http-util.js';

export type RequestState = 'queued' | 'uploading' | 'ingesting' | 'succeeded' | 'failed';

export interface StoredRequest {
  requestId: string;
  namespace: string;
  kind: 'add' | 'import';
  createdAt: number;
  /** Add requests: the ids of the objects, in order. */
  ids?: string[];
  /** Imports: where the upload goes, and until when its URL is valid. */
  objectKey?: string;
  uploadExpiresAt?: number;
  /** Imports: set when a complete upload has been stored. */
  uploadedAt?: number;
  uploading: boolean;
  filePath?: string;
  bytes?: number;
  /** Imports: the check of the uploaded lines, started on first look after the upload. */
  processing?: Promise<void>;
  processed?: { count: number; error?: string };
  /** Set by a test (`failNextRequest`): the request ends `failed` with this reason. */
  forcedFailure?: string;
}

export interface StateDelays {
  /** Time spent `queued` after creation (adds) or upload (imports), in ms. */
  queuedMs: number;
  /** Least time spent `ingesting`, in ms. */
  ingestingMs: number;
}

/** Where a request is now. Imports are `uploading` until their file has arrived (GET never says `pending_upload`). */
export function stateOf(request: StoredRequest, delays: StateDelays, now = Date.now()): RequestState {
  if (request.kind === 'import' && request.uploadedAt === undefined) return 'uploading';
  const start = request.kind === 'add' ? request.createdAt : request.uploadedAt!;
  if (now < start + delays.queuedMs) return 'queued';
  if (request.kind === 'import') {
    // Checking the file is started lazily, so a run that never asks does not pay for it.
    request.processing ??= checkUpload(request);
    if (!request.processed) return 'ingesting';
  }
  if (now < start + delays.queuedMs + delays.ingestingMs) return 'ingesting';
  return failureOf(request) === undefined ? 'succeeded' : 'failed';
}

/** The reason a finished request failed, if it did. */
export function failureOf(request: StoredRequest): string | undefined {
  return request.forcedFailure ?? request.processed?.error;
}

/** Objects in a finished request. */
export function objectCount(request: StoredRequest): number {
  return request.kind === 'add' ? (request.ids?.length ?? 0) : (request.processed?.count ?? 0);
}

/** Read the uploaded JSONL line by line: count the objects, or name the first bad line. */
async function checkUpload(request: StoredRequest): Promise<void> {
  let count = 0;
  let lineNumber = 0;
  try {
    for await (const line of uploadedLines(request.filePath!)) {
      lineNumber++;
      if (line.trim().length === 0) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        request.processed = { count, error: `Invalid JSON on line ${lineNumber}: ${(error as Error).message}` };
        return;
      }
      const id = (value as { id?: unknown } | null)?.id;
      if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof id !== 'string' || id.length === 0) {
        request.processed = { count, error: `Line ${lineNumber}: every object needs a non-empty string "id"` };
        return;
      }
      count++;
    }
    request.processed = { count };
  } catch (error) {
    request.processed = { count, error: `Could not read the uploaded file: ${(error as Error).message}` };
  }
}

/** The lines of an uploaded file, streamed (a trailing newline does not add an empty line). */
export async function* uploadedLines(path: string): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 }) as AsyncIterable<string>) {
    const text = rest + chunk;
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      yield text.slice(start, end);
      start = end + 1;
    }
    rest = text.slice(start);
  }
  if (rest.length > 0) yield rest;
}

const LABELS = ['safe', 'spam', 'scam', 'fraud', 'harassment', 'counterfeit'];
const ACTIONS = ['none', 'review', 'remove'];

/** What SafetyKit says of one object: a pure function of its id, so every run agrees. */
export function outputFor(id: string): { actions: unknown[]; fields: Record<string, unknown>; labels: Array<{ label: string }> } {
  const h = mixedHash(id);
  const risk = (h % 1000) / 1000;
  const labels = [{ label: LABELS[h % LABELS.length] }];
  if (h % 7 === 0) labels.push({ label: LABELS[(h >>> 8) % LABELS.length] });
  const action = risk > 0.9 ? ACTIONS[2] : risk > 0.7 ? ACTIONS[1] : ACTIONS[0];
  return {
    actions: action === 'none' ? [] : [{ type: action, reason: labels[0].label }],
    fields: { risk_score: risk, reviewed: false },
    labels,
  };
}

/** One result item as served inline (`data`) or as a JSONL line of `data_url`. */
export function resultItem(namespace: string, id: string): { id: string; output: ReturnType<typeof outputFor>; url: string } {
  return { id, output: outputFor(id), url: `https://app.safetykit.com/data/${namespace}/objects/${encodeURIComponent(id)}` };
}

/** A well-mixed hash of a string (FNV-1a, then mixed again). */
function mixedHash(text: string): number {
  return hash32(hashString(text));
}
