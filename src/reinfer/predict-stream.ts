/**
 * The Transform behind `predictDocuments`, `predictRawEmails` and `predictComments`: batches
 * inputs by count, bytes and idle time; keeps at most `concurrency` batches in flight or waiting
 * to be emitted (and stops reading input while that is full); emits one output per input, in
 * input order unless `ordered: false`; isolates refused documents by bisection. What differs
 * between the three endpoints lives in a {@link PredictAdapter}. No HTTP code here.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { context, type Context } from '@opentelemetry/api';
import { IdleTimer } from '../core/batch.js';
import { streamSignal } from '../core/abort.js';
import { ConfigError, RateLimitError } from '../core/errors.js';
import { isJsonText } from '../core/json-text.js';
import { booleanOption, integerOption } from '../core/options.js';
import { OrderedMap } from '../core/ordered-map.js';
import { baseStats, type BaseStats } from '../core/stats.js';
import type { RetryEvent } from '../core/retry.js';
import { ATTR, SPAN, inSpan, instruments } from '../core/telemetry.js';
import { AdaptiveConcurrency } from './adaptive-concurrency.js';
import { Refused, sendWithBisection, type BisectOutcome } from './bisect.js';
import type { CallHooks } from './client.js';
import type { ReinferConnection, ReinferConnectionOptions } from './options.js';
import type { Prediction, PredictionFailure, PredictionResult } from './types.js';
import { InputBatch } from './input-batch.js';
import { InvalidDocumentError, MAX_BATCH_DOCUMENTS } from './validate-documents.js';

/** Default documents per request: chosen by `benchmarks/reinfer-predict` (see README). */
export const DEFAULT_BATCH_SIZE = 2048;
/** Default requests in flight: chosen by the same benchmark. */
export const DEFAULT_CONCURRENCY = 4;
/** Default ceiling of `concurrency: 'auto'`. */
export const DEFAULT_MAX_CONCURRENCY = 16;
/** Default bound on a request body. */
export const DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** Default wait before a partial batch is sent when input pauses. */
export const DEFAULT_FLUSH_INTERVAL_MS = 1000;

/** Batching, concurrency and error options shared by the three transforms. */
export interface PredictStreamOptions extends ReinferConnectionOptions {
  /** Inputs per request, 1..4096. Default 2048 (chosen by the benchmark). */
  batchSize?: number;
  /** Bound on a request body in bytes; a single larger input goes alone. Default 8 MiB. */
  maxBatchBytes?: number;
  /** A partial batch is sent once input pauses this long, in ms (0: only when full or at the end). Default 1000. */
  flushIntervalMs?: number;
  /** Requests in flight (1..256), or `'auto'` to adapt between 1 and `maxConcurrency`. Default 4. */
  concurrency?: number | 'auto';
  /** Ceiling of `concurrency: 'auto'` (1..256). Default 16. */
  maxConcurrency?: number;
  /** Emit outputs in input order (true) or as batches finish (false). Default true. */
  ordered?: boolean;
  /** `'throw'`: a bad input fails the stream; `'emit'`: it comes out as `{input, index, error}`. Default `'throw'`. */
  onError?: 'throw' | 'emit';
  /**
   * The index of the first input, in failures' `index` and in error messages: a run that resumes
   * a larger input after its first N inputs passes N, so the indexes are those of the whole
   * input. Default 0.
   */
  firstIndex?: number;
}

/** Counters of a predict transform (`stream.stats`, and the `'progress'` event). */
export interface ReinferStats extends BaseStats {
  /** Inputs written to the stream. */
  documents: number;
  /** Outputs with predictions emitted. */
  predicted: number;
  /** Inputs emitted as failures (`onError: 'emit'`). */
  failed: number;
  /** Batches sent (a split batch counts once). */
  batches: number;
  /** Times a refused batch was split in halves. */
  splits: number;
  /** Requests allowed in flight now (changes with `concurrency: 'auto'`). */
  concurrency: number;
}

export interface ResolvedStreamOptions {
  batchSize: number;
  maxBatchBytes: number;
  flushIntervalMs: number;
  concurrency: number | 'auto';
  maxConcurrency: number;
  ordered: boolean;
  onError: 'throw' | 'emit';
  firstIndex: number;
}

export function resolveStreamOptions(options: PredictStreamOptions): ResolvedStreamOptions {
  const concurrency = options.concurrency === 'auto' ? 'auto' : integerOption('concurrency', options.concurrency, DEFAULT_CONCURRENCY, 1, 256);
  if (options.onError !== undefined && options.onError !== 'throw' && options.onError !== 'emit') {
    throw new ConfigError('onError', 'must be "throw" or "emit"', options.onError);
  }
  return {
    batchSize: integerOption('batchSize', options.batchSize, DEFAULT_BATCH_SIZE, 1, MAX_BATCH_DOCUMENTS),
    maxBatchBytes: integerOption('maxBatchBytes', options.maxBatchBytes, DEFAULT_MAX_BATCH_BYTES, 1024, 2 ** 31 - 1),
    flushIntervalMs: integerOption('flushIntervalMs', options.flushIntervalMs, DEFAULT_FLUSH_INTERVAL_MS, 0, 86_400_000),
    concurrency,
    maxConcurrency: integerOption('maxConcurrency', options.maxConcurrency, DEFAULT_MAX_CONCURRENCY, 1, 256),
    ordered: booleanOption('ordered', options.ordered, true),
    onError: options.onError ?? 'throw',
    firstIndex: integerOption('firstIndex', options.firstIndex, 0, 0, Number.MAX_SAFE_INTEGER),
  };
}

/** What an adapter's `wire` returns for an input that cannot be sent (rare: no object per good input). */
export class Unsendable {
  constructor(
    /** Why, naming the field, e.g. `messages is required`. */
    readonly reason: string,
  ) {}
}

/** What one endpoint contributes: how an input goes on the wire and how an answer comes back. */
export interface PredictAdapter {
  /** The input's wire form (JSON text), or why it cannot be sent. Called once per input. */
  wire(value: unknown, text: string | undefined): string | Unsendable;
  /**
   * Send one request for these inputs, `wireBytes` their wire forms joined by commas (UTF-8);
   * one output per input, in their order.
   */
  send(wireBytes: Buffer, inputs: readonly unknown[], hooks: CallHooks): Promise<{ outputs: Prediction<unknown>[]; bytes: number }>;
}

/**
 * The typed surface of a predict stream, merged into the class below (no runtime code): what
 * `write()` takes, what `for await` and `'data'` give, and the `'progress'` event.
 *
 * Why the iterator has two signatures: Node's `pipeline()` types a middle stage as
 * `NodeJS.ReadWriteStream`, whose iterator yields `string | Buffer`; an object-mode stream with
 * only a typed iterator would no longer fit there. The first signature keeps that fit, the
 * last one is what `pipeline()` infers the next stage's input from. TypeScript intersects
 * both for `for await`, so an output reads as `Output & (string | Buffer)`: every field of the
 * output is typed, and it is assignable to `Output`. Likewise `write(never)` keeps `write()`
 * compatible with Node's interfaces while only `Input` can actually be passed.
 */
export interface PredictStream<Input, Output = Prediction<Input>> {
  [Symbol.asyncIterator](): AsyncIterableIterator<string | Buffer>;
  [Symbol.asyncIterator](): AsyncIterableIterator<Output>;
  write(chunk: Input, callback?: (error: Error | null | undefined) => void): boolean;
  write(chunk: Input, encoding: BufferEncoding, callback?: (error: Error | null | undefined) => void): boolean;
  write(chunk: never, encoding?: never, callback?: never): boolean;
  on(event: 'progress', listener: (stats: ReinferStats) => void): this;
  on(event: 'data', listener: (output: Output) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'close' | 'drain' | 'end' | 'finish' | 'pause' | 'readable' | 'resume', listener: () => void): this;
  on(event: 'pipe' | 'unpipe', listener: (source: Readable) => void): this;
  on(event: string | symbol, listener: (...args: never[]) => void): this;
  once(event: 'progress', listener: (stats: ReinferStats) => void): this;
  once(event: 'data', listener: (output: Output) => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
  once(event: 'close' | 'drain' | 'end' | 'finish' | 'pause' | 'readable' | 'resume', listener: () => void): this;
  once(event: 'pipe' | 'unpipe', listener: (source: Readable) => void): this;
  once(event: string | symbol, listener: (...args: never[]) => void): this;
}

/**
 * `Input` is what is written (a document, a raw email, a uid); `Output` what comes out: a
 * {@link Prediction}, or with `onError: 'emit'` a {@link PredictionResult} (a prediction or a failure).
 */
export class PredictStream<Input, Output = Prediction<Input>> extends Transform {
  /** Live counters; also passed with every `'progress'` event. */
  readonly stats: ReinferStats;
  /** The batch being filled (undefined until an input arrives after the last one was sent). */
  private current: InputBatch | undefined;
  /** Bytes the last batch reached (at most maxBatchBytes): the next one starts with that much room, so it rarely grows. */
  private lastBatchBytes = 0;
  private readonly batches: OrderedMap<InputBatch, PredictionResult<Input>[]>;
  /** Sends a partial batch once input pauses (one timer, re-armed lazily, not one per input). */
  private readonly idle: IdleTimer;
  private readonly controller = new AbortController();
  private readonly adaptive: AdaptiveConcurrency | undefined;
  private startedAt: number | undefined;
  private chain: Promise<void> = Promise.resolve();
  private nextIndex = 0;
  private busy = false;
  private readerWaiters: Array<() => void> = [];
  /** The context the stream was made in: its batch spans sit under that context's span. */
  private readonly traceParent: Context = context.active();

  constructor(
    // Only its signal is kept (the token stays with the adapter's requests, never on the stream).
    connection: ReinferConnection,
    private readonly settings: ResolvedStreamOptions,
    private readonly adapter: PredictAdapter,
  ) {
    super({ objectMode: true, readableHighWaterMark: settings.batchSize, writableHighWaterMark: 16 });
    // Requests and retry waits listen to the stream's own signal, which destroy() and the caller's abort fire.
    streamSignal(this, this.controller, connection.common.signal, 'predict stream');
    const initial = settings.concurrency === 'auto' ? Math.min(2, settings.maxConcurrency) : settings.concurrency;
    this.nextIndex = settings.firstIndex;
    this.stats = { ...baseStats(), documents: 0, predicted: 0, failed: 0, batches: 0, splits: 0, concurrency: initial };
    this.idle = new IdleTimer(settings.flushIntervalMs, () => this.flushIdle());
    this.batches = new OrderedMap((batch) => this.runBatch(batch), (outputs) => this.emitOutputs(outputs), { concurrency: initial, ordered: settings.ordered });
    if (settings.concurrency === 'auto') {
      this.adaptive = new AdaptiveConcurrency({
        initial,
        max: settings.maxConcurrency,
        onChange: (level) => {
          this.stats.concurrency = level;
          this.batches.setConcurrency(level);
          instruments().predictConcurrency.record(level);
        },
      });
    }
    instruments().predictConcurrency.record(initial);
  }

  override _transform(input: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    let full: InputBatch[] | undefined;
    try {
      full = this.add(input);
    } catch (error) {
      return callback(error as Error);
    }
    // The common case (the batch is not full, the reader keeps up) takes no promise per input.
    if (full === undefined && this.readableLength < this.readableHighWaterMark) {
      this.noteInput();
      return callback();
    }
    this.busy = true;
    this.afterAdd(full).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.idle.stop();
    const rest = this.takeBatch();
    const pushed = rest !== undefined ? this.enqueue(rest) : this.chain;
    pushed.then(() => this.batches.drain()).then(() => callback(), callback);
  }

  override _read(size: number): void {
    const waiters = this.readerWaiters;
    this.readerWaiters = [];
    for (const wake of waiters) wake();
    super._read(size);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.idle.stop();
    this.batches.clear();
    this.controller.abort();
    for (const wake of this.readerWaiters) wake();
    this.readerWaiters = [];
    callback(error);
  }

  /**
   * Check and batch one input; returns the batches it filled (undefined, the common case, when
   * none): the current one when this input's bytes would overflow `maxBatchBytes` (the input
   * then starts the next), and the one it filled to `batchSize` or `maxBatchBytes`.
   */
  private add(input: unknown): InputBatch[] | undefined {
    const json = isJsonText(input);
    const value = json ? input.value : input;
    const index = this.nextIndex++;
    this.stats.documents++;
    const wire = this.adapter.wire(value, json ? input.text : undefined);
    let full: InputBatch[] | undefined;
    if (wire instanceof Unsendable) {
      if (this.settings.onError === 'throw') throw new InvalidDocumentError([index], wire.reason);
      this.batchFor(index).addUnsendable(input, wire.reason);
    } else {
      const bytes = Buffer.byteLength(wire);
      const { maxBatchBytes } = this.settings;
      if (this.current !== undefined && this.current.length > 0 && this.current.size + bytes + 1 > maxBatchBytes) full = [this.takeBatch()!];
      this.batchFor(index).add(input, wire, bytes);
    }
    const batch = this.current!;
    if (batch.length >= this.settings.batchSize || batch.size >= this.settings.maxBatchBytes) (full ??= []).push(this.takeBatch()!);
    return full;
  }

  /** The batch being filled, started at `index` when there is none. */
  private batchFor(index: number): InputBatch {
    return (this.current ??= new InputBatch(index, this.lastBatchBytes));
  }

  /** Take the batch being filled (undefined when there is none). */
  private takeBatch(): InputBatch | undefined {
    const batch = this.current;
    this.current = undefined;
    // Capped: one input larger than maxBatchBytes goes alone, and must not size every later batch.
    if (batch !== undefined) this.lastBatchBytes = Math.min(batch.written, this.settings.maxBatchBytes);
    return batch;
  }

  /** Send the full batches (waiting for room in the window), then wait for the reader if it is behind. */
  private async afterAdd(full: InputBatch[] | undefined): Promise<void> {
    if (full !== undefined) for (const batch of full) await this.enqueue(batch);
    while (this.readableLength >= this.readableHighWaterMark && !this.destroyed) {
      await new Promise<void>((resolve) => this.readerWaiters.push(resolve));
    }
    this.busy = false;
    this.noteInput();
  }

  /** Input arrived: (re)start the idle clock for a partial batch. */
  private noteInput(): void {
    if (this.current !== undefined) this.idle.touch();
  }

  /** Hand a batch to the map, strictly in order (idle flushes and full batches share one queue). */
  private enqueue(batch: InputBatch): Promise<void> {
    const next = this.chain.then(() => this.batches.push(batch));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private flushIdle(): void {
    if (this.busy || this.current === undefined || this.destroyed) return;
    this.enqueue(this.takeBatch()!).catch((error: Error) => this.destroy(error));
  }

  private async runBatch(batch: InputBatch): Promise<PredictionResult<Input>[]> {
    const { inputs, problems, firstIndex } = batch;
    const results = batch.sendableCount === 0 ? [] : await this.sendValid(batch);
    // One pass in input order: `results` follow the sendable inputs, which are `inputs` without the problems.
    const outputs: PredictionResult<Input>[] = new Array(inputs.length);
    let refused: number[] | undefined;
    let firstRefusal: InvalidDocumentError | undefined;
    for (let i = 0, r = 0; i < inputs.length; i++) {
      const problem = problems?.get(i);
      if (problem !== undefined) {
        outputs[i] = failure(inputs[i], firstIndex + i, new InvalidDocumentError([firstIndex + i], problem));
        continue;
      }
      const outcome = results[r++];
      if (!(outcome instanceof Refused)) {
        outputs[i] = outcome;
        continue;
      }
      (refused ??= []).push(firstIndex + i);
      const reason = outcome.error.serverMessage ?? `HTTP ${outcome.error.status}`;
      const error = new InvalidDocumentError([firstIndex + i], `refused by the server: ${reason}`, { cause: outcome.error });
      firstRefusal ??= error;
      outputs[i] = failure(inputs[i], firstIndex + i, error);
    }
    if (refused !== undefined && firstRefusal !== undefined && this.settings.onError === 'throw') {
      const first = firstRefusal;
      const reason = refused.length === 1 ? first.reason : `refused by the server (first: ${first.reason})`;
      throw new InvalidDocumentError(refused, reason, { cause: first.cause });
    }
    return outputs;
  }

  /**
   * One batch: a span holding each request it takes (a refused batch is split, and each half sent
   * under it). Bisection works on the sendable inputs' ordinals: each part it sends is a run
   * `from..to` of them, whose wire bytes are one view of the batch's bytes.
   */
  private sendValid(batch: InputBatch): Promise<BisectOutcome<PredictionResult<Input>>[]> {
    this.stats.batches++;
    const ordinals = new Array<number>(batch.sendableCount);
    for (let i = 0; i < ordinals.length; i++) ordinals[i] = i;
    return inSpan(
      SPAN.predictBatch,
      { [ATTR.documents]: ordinals.length },
      async (batchContext, span) => {
        let splits = 0;
        const outcomes = await sendWithBisection(
          ordinals,
          (part) => this.sendOnce(batch, part[0], part[0] + part.length, batchContext),
          () => {
            this.stats.splits++;
            splits++;
          },
        );
        if (splits > 0) span.setAttribute(ATTR.splits, splits);
        return outcomes;
      },
      this.traceParent,
    );
  }

  /** One request for the batch's sendable inputs `from` to `to` (exclusive). */
  private async sendOnce(batch: InputBatch, from: number, to: number, batchContext: Context): Promise<Prediction<Input>[]> {
    const count = to - from;
    let attemptStart = performance.now();
    let inFlight = this.batches.active;
    this.startedAt ??= attemptStart;
    this.stats.requests++;
    const onRetry = (event: RetryEvent) => {
      this.stats.requests++;
      this.stats.retries++;
      if (event.error instanceof RateLimitError) this.adaptive?.onRateLimited(attemptStart, inFlight);
      attemptStart = performance.now() + event.delayMs;
      inFlight = this.batches.active;
    };
    instruments().predictBatchSize.record(count);
    // Each request says how many documents it carried: the halves of a split batch show as such.
    const trace = { parent: batchContext, attributes: { [ATTR.documents]: count } };
    const { outputs, bytes } = await this.adapter.send(batch.wireBytes(from, to), batch.sendableInputs(from, to), { signal: this.controller.signal, onRetry, trace });
    this.stats.bytes += bytes;
    // `active` still counts this batch: the level is in use when every slot is.
    this.adaptive?.onSuccess(performance.now() - attemptStart, count * 2 >= this.settings.batchSize, this.batches.active >= this.stats.concurrency);
    return outputs as Prediction<Input>[];
  }

  private emitOutputs(outputs: PredictionResult<Input>[]): void {
    if (this.destroyed) return;
    for (let i = 0; i < outputs.length; i++) {
      const output = outputs[i];
      if ('error' in output) this.stats.failed++;
      else this.stats.predicted++;
      this.push(output);
    }
    this.stats.elapsedMs = this.startedAt === undefined ? 0 : Math.round(performance.now() - this.startedAt);
    this.emit('progress', this.stats);
  }
}

function failure<Input>(input: unknown, index: number, error: Error): PredictionFailure<Input> {
  return { input: input as Input, index, error };
}
