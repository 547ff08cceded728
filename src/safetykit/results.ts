/**
 * `importResults()`: the outputs of a finished add or import as a Readable of objects. Add
 * requests answer inline; imports (and adds too large to answer inline) are downloaded from a
 * pre-signed URL and parsed one record at a time, never held whole in memory. The download may
 * be JSONL, one JSON array, or `{"data": [...]}` (the add output's shape), told apart by its
 * first bytes (see core/json-input.ts). Every record must be an object with a string `id`:
 * anything else (`null` included, which would end a Node stream) is a `ProtocolError` naming
 * where it is, raised before it is emitted.
 */
import { Readable, pipeline } from 'node:stream';
import { InferenceStreamsError, JsonlError, ProtocolError, describeUrl } from '../core/errors.js';
import { streamSignal } from '../core/abort.js';
import { parseJsonItems, sniffJsonInput } from '../core/json-input.js';
import { DEFAULT_MAX_LINE_BYTES } from '../core/jsonl.js';
import { booleanOption, integerOption, stringOption } from '../core/options.js';
import { baseStats, type BaseStats } from '../core/stats.js';
import { fetchDownloadUrl, fetchRequestStatus, openDownload } from './client.js';
import { resolveSafetykit, type SafetykitConfig, type SafetykitOptions } from './config.js';
import { pollUntilFinal, resolvePoll, type PollOptions, type ResolvedPoll } from './requests.js';
import type { OutputObject, RequestStatus } from './types.js';

/** Options of {@link importResults}. */
export interface ImportResultsOptions extends SafetykitOptions, PollOptions {
  /** The add or import request whose outputs to read. */
  requestId: string;
  /** Wait (polling) until the request is final. Default true; false fails at once if it is not `succeeded`. */
  wait?: boolean;
  /** Longest record accepted from the download (a JSONL line or a JSON array element), in bytes. Default 16 MiB. */
  maxLineBytes?: number;
}

/** Counters of an {@link importResults} stream. */
export interface ImportResultsStats extends BaseStats {
  /** Output objects pushed so far. */
  objects: number;
  /** Status checks made while waiting. */
  polls: number;
}

/** A Readable (objectMode) of a request's output objects `{id, output, url, metadata?}`. */
export function importResults(options: ImportResultsOptions): ImportResultsStream {
  const config = resolveSafetykit(options);
  const requestId = stringOption('requestId', options.requestId, true);
  const wait = booleanOption('wait', options.wait, true);
  const poll = resolvePoll(options);
  const maxLineBytes = integerOption('maxLineBytes', options.maxLineBytes, DEFAULT_MAX_LINE_BYTES, 1, 2 ** 30);
  return new ImportResultsStream(config, requestId, wait, poll, maxLineBytes);
}

export class ImportResultsStream extends Readable {
  readonly stats: ImportResultsStats = { ...baseStats(), objects: 0, polls: 0 };
  private readonly controller = new AbortController();
  private readonly signal: AbortSignal;
  private outputIterator: AsyncGenerator<OutputObject> | undefined;
  private pumping = false;
  private started = 0;

  // #private: holds the API key, which util.inspect() and JSON.stringify() must never show.
  readonly #config: SafetykitConfig;

  constructor(
    config: SafetykitConfig,
    private readonly requestId: string,
    private readonly wait: boolean,
    private readonly poll: ResolvedPoll,
    private readonly maxLineBytes: number,
  ) {
    super({ objectMode: true, highWaterMark: 64 });
    this.#config = config;
    this.signal = streamSignal(this, this.controller, config.signal, 'importResults');
  }

  /** Typed iteration: `for await (const result of stream)` yields {@link OutputObject}s. */
  override [Symbol.asyncIterator](): AsyncIterableIterator<OutputObject> {
    return super[Symbol.asyncIterator]() as AsyncIterableIterator<OutputObject>;
  }

  override _read(): void {
    void this.pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.controller.abort();
    void this.outputIterator?.return(undefined).catch(() => undefined);
    callback(error);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.outputIterator ??= this.outputs();
      for (;;) {
        const next = await this.outputIterator.next();
        if (this.destroyed) return;
        if (next.done) {
          this.push(null);
          return;
        }
        this.stats.objects++;
        if (this.stats.objects % 1000 === 0) this.progress();
        if (!this.push(next.value)) return;
      }
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      this.pumping = false;
    }
  }

  private progress(): void {
    this.stats.elapsedMs = Date.now() - this.started;
    this.emit('progress', { ...this.stats });
  }

  private async *outputs(): AsyncGenerator<OutputObject> {
    this.started = Date.now();
    const extras = { signal: this.signal, onRetry: () => void (this.stats.retries++, this.stats.requests++) };
    const status = this.wait
      ? await pollUntilFinal(this.#config, this.requestId, this.poll, { ...extras, onPoll: () => void (this.stats.polls++, this.stats.requests++) })
      : await this.currentStatus(extras);
    if (status.dataUrl === undefined && status.data !== undefined && (status.data.length > 0 || !status.dataCount)) {
      // Checked whole before the first is emitted: the answer is already in memory (≤ 5 MiB).
      const endpoint = 'GET /v1/data/{namespace}/requests/{requestId}';
      status.data.forEach((output, index) => {
        const problem = outputProblem(output);
        if (problem !== undefined) throw new ProtocolError(endpoint, `data[${index}] of request ${this.requestId}: ${problem}`);
      });
      yield* status.data;
    } else {
      yield* this.download(status, extras);
    }
    this.progress();
  }

  private async currentStatus(extras: { signal: AbortSignal }): Promise<RequestStatus> {
    const status = await fetchRequestStatus(this.#config, this.requestId, extras);
    this.stats.requests++;
    if (status.status !== 'succeeded') {
      throw new InferenceStreamsError(`SafetyKit request ${this.requestId} is "${status.status}", not "succeeded"${status.reason ? `: ${status.reason}` : ''}; pass wait: true to wait for it`);
    }
    return status;
  }

  private async *download(status: RequestStatus, extras: { signal: AbortSignal }): AsyncGenerator<OutputObject> {
    let url = status.dataUrl;
    if (url === undefined) {
      url = (await fetchDownloadUrl(this.#config, this.requestId, extras)).url;
      this.stats.requests++;
    }
    const body = await openDownload(url, this.#config, extras);
    this.stats.requests++;
    const source = describeUrl(url);
    const { shape, bytes } = await sniffJsonInput(body);
    bytes.on('data', (chunk: Buffer) => (this.stats.bytes += chunk.length));
    const records = pipeline(bytes, parseJsonItems(shape, { source, maxItemBytes: this.maxLineBytes, validate: outputProblem }), () => undefined);
    try {
      for await (const value of records as AsyncIterable<OutputObject>) yield value;
    } catch (error) {
      // Bad records come from the server, not from the caller: a protocol fault, with its position.
      if (error instanceof JsonlError) throw new ProtocolError(`GET ${source}`, `the results download (${SHAPE_NAMES[shape]}) is not usable: ${error.message}`, { cause: error });
      throw error;
    }
  }
}

const SHAPE_NAMES = { jsonl: 'JSONL', array: 'a JSON array', 'data-array': '{"data": [...]}' } as const;

/** Why a record is not an output object, or undefined when it is one. */
function outputProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `it is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}, not an output object`;
  if (typeof (value as { id?: unknown }).id !== 'string') return 'it is not an output object (no string "id")';
  return undefined;
}
