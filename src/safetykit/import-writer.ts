/**
 * `importWriter()`: a Writable of objects, JSONL strings or Buffers, or `JsonText` items, that
 * imports them into a namespace through the pre-signed upload: lines are checked and spooled to
 * disk (text as it came: strings, Buffers and a JsonText's text are never re-serialized), then each part
 * (every `partBytes`) gets `POST …/import`, a streamed `PUT upload_url`, and status polling.
 * One part uploads while the next one spools.
 */
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';

import { streamSignal } from '../core/abort.js';
import { booleanOption, integerOption, stringOption } from '../core/options.js';
import { DEFAULT_MAX_LINE_BYTES } from '../core/jsonl.js';
import { isJsonText, type JsonText } from '../core/json-text.js';
import { baseStats, type BaseStats } from '../core/stats.js';
import { countPage } from '../destinations/page-loop.js';
import { createImport, isExpiredUpload, uploadFile } from './client.js';
import { resolveSafetykit, type SafetykitConfig, type SafetykitOptions } from './config.js';
import { pollUntilFinal, resolvePoll, type PollOptions, type ResolvedPoll } from './requests.js';
import { Spool, type SpoolPart } from './spool.js';
import type { DataObject, RequestStatus } from './types.js';

const GiB = 1024 * 1024 * 1024;
/** An expired upload URL is replaced by a new import request at most this many times per part. */
const MAX_URL_RENEWALS = 3;

/** Options of {@link importWriter}. */
export interface ImportWriterOptions extends SafetykitOptions, PollOptions {
  /** Directory for the spool files. Default the OS temp dir. */
  spoolDir?: string;
  /** Start a new import (a separate request) when a part reaches this many bytes. Default 1 GiB. */
  partBytes?: number;
  /** Poll each import until `succeeded` (or `failed` → `ImportFailedError`) before finishing. Default true. */
  wait?: boolean;
  /** Keep the spool files after the import, for debugging. Default false. */
  keepSpool?: boolean;
  /** Longest input line accepted, in bytes. Default 16 MiB. */
  maxLineBytes?: number;
  /** Name of the input shown in errors, e.g. a file name (`listings.jsonl:7`). Default none (errors say `line 7`). */
  source?: string;
  /** Timeout of one upload PUT (the whole body), in ms. Default 3 600 000 (1 h). */
  uploadTimeoutMs?: number;
}

/** Where an {@link ImportWriter} is. */
export type ImportPhase = 'spooling' | 'uploading' | 'polling' | 'done';

/** Counters of an {@link ImportWriter} (`stream.stats`, and each `'progress'` event). `bytes` counts uploaded bytes. */
export interface ImportWriterStats extends BaseStats {
  phase: ImportPhase;
  /** Objects spooled (checked lines). */
  objects: number;
  /** Bytes spooled. */
  spooledBytes: number;
  /** Parts started (each is one import request). */
  parts: number;
  /** Parts whose upload finished. */
  partsUploaded: number;
  /** Parts that reached `succeeded`. */
  partsSucceeded: number;
  /** Status checks made. */
  polls: number;
}

/** What a finished {@link ImportWriter} did (`stream.summary`, and the `'summary'` event). */
export interface ImportWriterSummary {
  /** One per part, in part order. */
  requestIds: string[];
  objects: number;
  /** Bytes uploaded (once per part, retries not counted). */
  bytes: number;
  /** Final status of each part by name, e.g. `{succeeded: 2}` (`{uploaded: n}` with `wait: false`). */
  statuses: Record<string, number>;
  retries: number;
  elapsedMs: number;
}

/** Payload of the `'import'` event: a part moved on. */
export interface ImportEvent {
  /** `requested`: got an upload URL; `uploaded`: the PUT finished; `succeeded`: the import is done. */
  stage: 'requested' | 'uploaded' | 'succeeded';
  part: number;
  requestId: string;
  objects: number;
  bytes: number;
  status?: RequestStatus;
  /** `importFile()`: the part was uploaded (or succeeded) in an earlier run and is not sent again. */
  resumed?: boolean;
}

/**
 * A Writable (objectMode) imported into `namespace`. Takes objects (serialized with
 * `JSON.stringify`), JSONL text as strings or Buffers (spooled as it is, split anywhere), and
 * `JsonText` items (`parseJsonl`/`parseJsonArray` with `keepText: true`: the item's own text,
 * on one line), so numbers such as `12345678901234567890` or `1.0` arrive as they were written.
 */
export function importWriter(options: ImportWriterOptions): ImportWriter {
  return new ImportWriter(options);
}

export class ImportWriter extends Writable {
  readonly stats: ImportWriterStats = { ...baseStats(), phase: 'spooling', objects: 0, spooledBytes: 0, parts: 0, partsUploaded: 0, partsSucceeded: 0, polls: 0 };
  /** Set when the stream has finished. */
  summary: ImportWriterSummary | undefined;
  // #private: holds the API key, which util.inspect() and JSON.stringify() must never show.
  readonly #config: SafetykitConfig;
  private readonly poll: ResolvedPoll;
  private readonly wait: boolean;
  private readonly keepSpool: boolean;
  private readonly uploadTimeoutMs: number;
  private readonly spool: Spool;
  private readonly controller = new AbortController();
  private readonly signal: AbortSignal;
  private readonly requestIds: string[] = [];
  private readonly statuses: Record<string, number> = {};
  private readonly partTasks: Array<Promise<void>> = [];
  /** The upload in progress: the next part waits for it (one PUT at a time; at most two parts on disk). */
  private uploading: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private uploadedBytes = 0;
  private started = 0;
  private lastProgress = 0;

  constructor(options: ImportWriterOptions) {
    super({ objectMode: true, highWaterMark: 16 });
    this.#config = resolveSafetykit(options);
    this.poll = resolvePoll(options);
    this.wait = booleanOption('wait', options.wait, true);
    this.keepSpool = booleanOption('keepSpool', options.keepSpool, false);
    this.uploadTimeoutMs = integerOption('uploadTimeoutMs', options.uploadTimeoutMs, 3_600_000, 1, 7 * 86_400_000);
    const partBytes = integerOption('partBytes', options.partBytes, GiB, 1, 5 * 1024 * GiB);
    const maxLineBytes = integerOption('maxLineBytes', options.maxLineBytes, DEFAULT_MAX_LINE_BYTES, 1, GiB);
    const spoolDir = stringOption('spoolDir', options.spoolDir) ?? tmpdir();
    this.spool = new Spool(spoolDir, partBytes, maxLineBytes, (part) => this.startPart(part), stringOption('source', options.source));
    this.spool.keep = this.keepSpool;
    this.signal = streamSignal(this, this.controller, this.#config.signal, 'importWriter');
  }

  override _write(chunk: DataObject | string | Buffer | Uint8Array | JsonText, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.failure) return callback(this.failure);
    if (this.started === 0) this.started = Date.now();
    const adding =
      typeof chunk === 'string' || Buffer.isBuffer(chunk)
        ? this.spool.addText(chunk)
        : chunk instanceof Uint8Array
          ? this.spool.addText(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
          : isJsonText(chunk)
            ? this.spool.addJsonText(chunk)
            : this.spool.addObject(chunk);
    adding.then(() => {
      this.countSpooled();
      callback(this.failure);
    }, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.spool
      .finish()
      .then(async () => {
        this.countSpooled();
        await Promise.all(this.partTasks);
        if (this.failure) throw this.failure;
        this.stats.phase = 'done';
        this.stats.elapsedMs = this.started ? Date.now() - this.started : 0;
        this.summary = {
          requestIds: [...this.requestIds],
          objects: this.stats.objects,
          bytes: this.uploadedBytes,
          statuses: { ...this.statuses },
          retries: this.stats.retries,
          elapsedMs: this.stats.elapsedMs,
        };
        if (!this.keepSpool) await this.spool.remove();
        this.emit('progress', { ...this.stats });
        this.emit('summary', this.summary);
      })
      .then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.controller.abort();
    const cleanup = this.keepSpool ? Promise.resolve() : this.spool.remove();
    cleanup.then(
      () => callback(error),
      () => callback(error),
    );
  }

  /** Where the spool files are (undefined before the first line). */
  get spoolPath(): string | undefined {
    return this.spool.path;
  }

  private countSpooled(): void {
    this.stats.objects = this.spool.objects;
    this.stats.spooledBytes = this.spool.bytes;
    this.progress();
  }

  private progress(): void {
    const now = Date.now();
    if (now - this.lastProgress < 100) return;
    this.lastProgress = now;
    this.stats.elapsedMs = this.started ? now - this.started : 0;
    this.emit('progress', { ...this.stats });
  }

  /** A part's file is complete: wait for the previous upload, then upload (and poll) this one in the background. */
  private async startPart(part: SpoolPart): Promise<void> {
    this.stats.parts++;
    await this.uploading;
    if (this.failure) throw this.failure;
    let uploaded!: () => void;
    this.uploading = new Promise((resolve) => (uploaded = resolve));
    const task = this.runPart(part, uploaded).catch((error: Error) => {
      this.failure ??= error;
      uploaded();
      if (!this.writableFinished) this.destroy(error);
    });
    this.partTasks.push(task);
  }

  private async runPart(part: SpoolPart, uploaded: () => void): Promise<void> {
    this.stats.phase = 'uploading';
    const requestId = await this.upload(part);
    this.requestIds[part.index] = requestId;
    this.uploadedBytes += part.bytes;
    this.stats.partsUploaded++;
    countPage(part.objects, 'safetykit');
    this.emit('import', { stage: 'uploaded', part: part.index, requestId, objects: part.objects, bytes: part.bytes } satisfies ImportEvent);
    if (!this.keepSpool) await this.spool.removePart(part);
    uploaded();
    if (!this.wait) {
      this.statuses.uploaded = (this.statuses.uploaded ?? 0) + 1;
      return;
    }
    this.stats.phase = 'polling';
    const status = await pollUntilFinal(this.#config, requestId, this.poll, {
      signal: this.signal,
      onPoll: () => {
        this.stats.polls++;
        this.stats.requests++;
        this.progress();
      },
    });
    this.statuses[status.status] = (this.statuses[status.status] ?? 0) + 1;
    this.stats.partsSucceeded++;
    this.emit('import', { stage: 'succeeded', part: part.index, requestId, objects: part.objects, bytes: part.bytes, status } satisfies ImportEvent);
  }

  /** `POST …/import` then `PUT upload_url`; an expired URL is replaced by a new import request. */
  private async upload(part: SpoolPart): Promise<string> {
    const onRetry = () => void (this.stats.retries++, this.stats.requests++);
    for (let renewal = 0; ; renewal++) {
      const ticket = await createImport(this.#config, { signal: this.signal, onRetry });
      this.stats.requests++;
      this.emit('import', { stage: 'requested', part: part.index, requestId: ticket.requestId, objects: part.objects, bytes: part.bytes } satisfies ImportEvent);
      try {
        this.stats.requests++;
        await uploadFile(ticket.upload_url, part.path, part.bytes, {
          timeoutMs: this.uploadTimeoutMs,
          retry: this.#config.retry,
          signal: this.signal,
          onRetry,
          onProgress: (sent) => {
            this.stats.bytes = this.uploadedBytes + sent;
            this.progress();
          },
        });
        this.stats.bytes = this.uploadedBytes + part.bytes;
        return ticket.requestId;
      } catch (error) {
        if (renewal < MAX_URL_RENEWALS && isExpiredUpload(error, ticket.expires_at)) continue;
        throw error;
      }
    }
  }
}
