/**
 * `dataWriter()`: a Writable of `{id, …}` objects that adds them to a namespace in batches
 * (`POST /v1/data/{namespace}`), with at most `concurrency` batches in flight. Writes wait while
 * the window is full, which is the backpressure a piped source feels.
 */
import { Writable } from 'node:stream';
import { context, type Context } from '@opentelemetry/api';
import { IdleTimer } from '../core/batch.js';
import { ConfigError } from '../core/errors.js';
import { isJsonText, type JsonText } from '../core/json-text.js';
import { PositionedText, type LinePosition } from '../core/jsonl-positions.js';
import { streamSignal } from '../core/abort.js';
import { booleanOption, integerOption } from '../core/options.js';
import { OrderedMap } from '../core/ordered-map.js';
import { baseStats, type BaseStats } from '../core/stats.js';
import { ATTR, SPAN, inSpan } from '../core/telemetry.js';
import { countPage } from '../destinations/page-loop.js';
import { BatchBody, BodyPool } from './batch-body.js';
import { addData } from './client.js';
import { resolveSafetykit, type SafetykitConfig, type SafetykitOptions } from './config.js';
import { InvalidObjectError, objectProblem } from './errors.js';
import { pollUntilFinal, resolvePoll, type PollOptions, type ResolvedPoll } from './requests.js';
import type { DataObject, RequestStatus } from './types.js';

const MiB = 1024 * 1024;
/** The API refuses bodies over 5 MiB; `{"data":[` and `]}` take the rest of the margin. */
const MAX_BATCH_BYTES = 5 * MiB - 64;
/** Default of `maxBatchBytes`: also the largest single object an add request carries. */
export const DEFAULT_MAX_BATCH_BYTES = 4 * MiB;

/**
 * Why one object's JSON `text` cannot go in an add request of at most `maxBatchBytes` (its
 * separator counted), or undefined when it fits. Shared with the CLI, which checks it while
 * reading, so the error names the line.
 */
export function objectSizeProblem(text: string, maxBatchBytes = DEFAULT_MAX_BATCH_BYTES): string | undefined {
  // length is in UTF-16 units: a text can only be too large in bytes if it is > limit/3 long.
  if (text.length * 3 < maxBatchBytes) return undefined;
  const size = Buffer.byteLength(text) + 1;
  return size > maxBatchBytes ? `the object is ${size} bytes serialized, more than one add request carries (maxBatchBytes ${maxBatchBytes})` : undefined;
}

/** Options of {@link dataWriter}. */
export interface DataWriterOptions extends SafetykitOptions, PollOptions {
  /** Most objects in one add request (the API allows 1000). Default 1000. */
  batchSize?: number;
  /** Most serialized bytes in one add request (the API allows 5 MiB). Default 4 MiB. */
  maxBatchBytes?: number;
  /** Send a partial batch after this long without a write, in ms; 0 waits for the end. Default 1000. */
  flushIntervalMs?: number;
  /** Add requests in flight at once (1..64). Default 4. */
  concurrency?: number;
  /** Poll each request until final; `'result'` events carry its outputs, and `failed` fails the stream. Default false. */
  waitForResults?: boolean;
  /**
   * What to do with an object without a non-empty string `id`, or too large for one request
   * (`maxBatchBytes`): fail the stream once the objects written before it are sent (`'error'`),
   * or count and drop it (`'skip'`). Default `'error'`.
   */
  onInvalid?: 'error' | 'skip';
  /**
   * Keep the batches sent within `concurrency` of the oldest one not yet accepted: the
   * acknowledged position (`'acknowledged'`) then trails what was sent by at most `concurrency`
   * batches, so a run resumed from it sends at most that many again. Without it, batches are
   * accepted in any order and, while one is retried, the others go on (the position waits for
   * it, however far they get). `ingestFile()` sets it. Default false.
   */
  acknowledgeInOrder?: boolean;
}

/** Counters of a {@link DataWriter} (`stream.stats`, and each `'progress'` event). */
export interface DataWriterStats extends BaseStats {
  /** Objects accepted by the API. */
  objects: number;
  /** Add requests accepted. */
  batches: number;
  /** Invalid objects dropped (`onInvalid: 'skip'`). */
  skipped: number;
  /** Add requests in flight now. */
  inFlight: number;
}

/** What a finished {@link DataWriter} did (`stream.summary`, and the `'summary'` event). */
export interface DataWriterSummary {
  objects: number;
  /** One per accepted batch, in the order they were accepted. */
  requestIds: string[];
  skipped: number;
  retries: number;
  /** Request body bytes sent. */
  bytes: number;
  elapsedMs: number;
  /** Final statuses by name (only with `waitForResults`). */
  statuses: Record<string, number>;
}

/** Payload of the `'request'` event: one batch was accepted. */
export interface DataRequestEvent {
  requestId: string;
  count: number;
  /** Input position after the batch's last object, when the objects were written as `PositionedText`s (from `readJsonlFrom()`). */
  position?: LinePosition;
}

/**
 * Payload of the `'acknowledged'` event: every object written up to `position` (the position of
 * a `PositionedText`, see `readJsonlFrom()`) was accepted by the API, or skipped. Batches are
 * accepted out of order (`concurrency`); this moves only when a batch and every batch before it
 * are accepted, so it is the position a resumed run may start from.
 */
export interface DataAcknowledgedEvent {
  position: LinePosition;
  /** Objects accepted up to `position` by this writer. */
  objects: number;
}

/** A batch on its way: its body, and the input position after its last item (skipped items included). */
interface PendingBatch {
  /** The request body; dropped once the batch is accepted. */
  body: BatchBody | undefined;
  count: number;
  position: LinePosition | undefined;
  /** Set once the API accepted it. */
  accepted: boolean;
}

/** Payload of the `'result'` event (`waitForResults`): one batch reached its final state. */
export interface DataResultEvent extends DataRequestEvent {
  status: RequestStatus;
}

/**
 * A Writable (objectMode) of `{id, …}` objects, added to `namespace` in batches. It also takes
 * `JsonText`s of objects (from `parseJsonl({keepText: true})` or `parseJsonArray({keepText: true})`),
 * whose text is sent unchanged: numbers such as `12345678901234567890` keep every digit.
 */
export function dataWriter(options: DataWriterOptions): DataWriter {
  return new DataWriter(options);
}

interface Settings {
  batchSize: number;
  maxBatchBytes: number;
  flushIntervalMs: number;
  concurrency: number;
  waitForResults: boolean;
  skipInvalid: boolean;
  acknowledgeInOrder: boolean;
  poll: ResolvedPoll;
}

export class DataWriter extends Writable {
  readonly stats: DataWriterStats = { ...baseStats(), objects: 0, batches: 0, skipped: 0, inFlight: 0 };
  /** Set when the stream has finished. */
  summary: DataWriterSummary | undefined;
  // #private: holds the API key, which util.inspect() and JSON.stringify() must never show.
  readonly #config: SafetykitConfig;
  private readonly settings: Settings;
  /** The batch being filled (undefined until its first object). */
  private open: BatchBody | undefined;
  /** Bytes of the last batch sent: the next body starts that large (no regrowing). */
  private lastBodyBytes = 0;
  /** Buffers of the bodies of accepted batches, reused by the next ones (see {@link BodyPool}). */
  private readonly bodies: BodyPool;
  private readonly idle: IdleTimer;
  private readonly inFlight: OrderedMap<PendingBatch, void>;
  /** Batches sent and not yet acknowledged with every batch before them, in input order. */
  private readonly unacknowledged: PendingBatch[] = [];
  /** Position after the last item written (sent or skipped); undefined until a `PositionedText` comes. */
  private lastPosition: LinePosition | undefined;
  private acknowledgedObjects = 0;
  private acknowledgedPosition: LinePosition | undefined;
  private readonly controller = new AbortController();
  private readonly signal: AbortSignal;
  private readonly requestIds: string[] = [];
  private readonly statuses: Record<string, number> = {};
  /** Batches are handed to `inFlight` one at a time, whether from a write or the idle timer. */
  private sending: Promise<void> = Promise.resolve();
  private index = 0;
  private started = 0;
  /** The context the writer was made in: its batch spans (and status polls) sit under that context's span. */
  private readonly traceParent: Context = context.active();

  constructor(options: DataWriterOptions) {
    super({ objectMode: true, highWaterMark: 16 });
    this.#config = resolveSafetykit(options);
    const onInvalid = options.onInvalid ?? 'error';
    if (onInvalid !== 'error' && onInvalid !== 'skip') throw new ConfigError('onInvalid', 'must be "error" or "skip"', onInvalid);
    this.settings = {
      batchSize: integerOption('batchSize', options.batchSize, 1000, 1, 1000),
      maxBatchBytes: integerOption('maxBatchBytes', options.maxBatchBytes, DEFAULT_MAX_BATCH_BYTES, 1024, MAX_BATCH_BYTES),
      flushIntervalMs: integerOption('flushIntervalMs', options.flushIntervalMs, 1000, 0, 86_400_000),
      concurrency: integerOption('concurrency', options.concurrency, 4, 1, 64),
      waitForResults: booleanOption('waitForResults', options.waitForResults, false),
      skipInvalid: onInvalid === 'skip',
      acknowledgeInOrder: booleanOption('acknowledgeInOrder', options.acknowledgeInOrder, false),
      poll: resolvePoll(options),
    };
    this.signal = streamSignal(this, this.controller, this.#config.signal, 'dataWriter');
    this.bodies = new BodyPool(this.settings.concurrency + 1);
    this.idle = new IdleTimer(this.settings.flushIntervalMs, () => this.flushPartial());
    this.inFlight = new OrderedMap((batch) => this.send(batch), () => undefined, { concurrency: this.settings.concurrency, ordered: this.settings.acknowledgeInOrder });
  }

  /** Every object written up to here was accepted (or skipped): see {@link DataAcknowledgedEvent}. Undefined until then, or without `PositionedText` input. */
  get acknowledged(): LinePosition | undefined {
    return this.acknowledgedPosition;
  }

  /** An object, or a `JsonText` of one (from `parseJsonl`/`parseJsonArray` with `keepText`): its text is sent as it came. */
  override _write(item: DataObject | JsonText<DataObject>, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.started === 0) this.started = Date.now();
    const index = this.index++;
    const object = isJsonText(item) ? item.value : item;
    const position = item instanceof PositionedText ? item.after : undefined;
    const problem = objectProblem(object);
    if (problem !== undefined) {
      if (this.settings.skipInvalid) {
        this.stats.skipped++;
        this.lastPosition = position ?? this.lastPosition;
        return callback();
      }
      return this.failAfterSending(new InvalidObjectError(index, problem), callback);
    }
    let line: string;
    try {
      line = isJsonText(item) ? item.text : JSON.stringify(object);
    } catch (error) {
      return this.failAfterSending(new InvalidObjectError(index, `JSON.stringify failed (${(error as Error).message})`), callback);
    }
    // Written straight into the open batch's body, which counts its bytes; taken out again when it does not fit.
    const { batchSize, maxBatchBytes } = this.settings;
    const open = (this.open ??= new BatchBody(this.lastBodyBytes + 1024, this.bodies));
    const size = open.append(line);
    if (size > maxBatchBytes) {
      open.removeLast();
      if (this.settings.skipInvalid) {
        this.stats.skipped++;
        this.lastPosition = position ?? this.lastPosition;
        return callback();
      }
      return this.failAfterSending(new InvalidObjectError(index, objectSizeProblem(line, maxBatchBytes)!), callback);
    }
    const before = this.lastPosition;
    this.lastPosition = position ?? before;
    this.idle.touch();
    const full: PendingBatch[] = [];
    if (open.count > 1 && open.bytes > maxBatchBytes) {
      // This object would overflow the batch's bytes: the batch goes without it, and it starts the next.
      const text = open.removeLast();
      full.push(this.pending(open, before));
      this.open = new BatchBody(this.lastBodyBytes + 1024, this.bodies);
      this.open.appendBytes(text);
    }
    const current = this.open!;
    if (current.count >= batchSize || current.bytes >= maxBatchBytes) full.push(this.pending(current, this.lastPosition));
    if (full.length === 0) return callback();
    this.enqueue(full).then(() => callback(), callback);
  }

  /** `body` as a batch to send, ending at `position`; it is no longer the open one. */
  private pending(body: BatchBody, position: LinePosition | undefined): PendingBatch {
    if (this.open === body) this.open = undefined;
    return { body, count: body.count, position, accepted: false };
  }

  /** The open batch, taken to be sent: it ends at the last item written. */
  private takeOpen(): PendingBatch[] {
    return this.open ? [this.pending(this.open, this.lastPosition)] : [];
  }

  /**
   * A refused object fails the stream only once the objects written before it are sent (their
   * `'request'` events account for them), rather than dropping the batch they wait in.
   */
  private failAfterSending(error: Error, callback: (error?: Error | null) => void): void {
    this.idle.stop();
    this.enqueue(this.takeOpen())
      .then(() => this.inFlight.drain())
      .then(() => callback(error), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.idle.stop();
    this.enqueue(this.takeOpen())
      .then(() => this.inFlight.drain())
      .then(() => {
        // Every batch was accepted: items skipped after the last one are acknowledged too.
        this.advanceAcknowledged(this.lastPosition);
        this.stats.elapsedMs = this.started ? Date.now() - this.started : 0;
        this.summary = {
          objects: this.stats.objects,
          requestIds: [...this.requestIds],
          skipped: this.stats.skipped,
          retries: this.stats.retries,
          bytes: this.stats.bytes,
          elapsedMs: this.stats.elapsedMs,
          statuses: { ...this.statuses },
        };
        this.emit('progress', { ...this.stats });
        this.emit('summary', this.summary);
        callback();
      }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.idle.stop();
    this.inFlight.clear();
    this.controller.abort();
    callback(error);
  }

  private enqueue(batches: PendingBatch[]): Promise<void> {
    const sent = batches.filter((batch) => batch.count > 0);
    // Registered now, in the order of the calls, which is input order (the sends are chained too).
    this.unacknowledged.push(...sent);
    const next = this.sending.then(async () => {
      for (const batch of sent) await this.inFlight.push(batch);
    });
    // A failure is reported once, by whoever awaits `next`; later batches must not re-raise it.
    this.sending = next.catch(() => undefined);
    return next;
  }

  private flushPartial(): void {
    if (this.open === undefined || this.open.count === 0) return;
    this.enqueue(this.takeOpen()).catch((error: Error) => this.destroy(error));
  }

  /** Drop the accepted batches at the front of the window; the position moves to the last one's. */
  private acknowledge(batch: PendingBatch): void {
    batch.accepted = true;
    let position: LinePosition | undefined;
    while (this.unacknowledged.length > 0 && this.unacknowledged[0].accepted) {
      const done = this.unacknowledged.shift()!;
      this.acknowledgedObjects += done.count;
      position = done.position ?? position;
    }
    this.advanceAcknowledged(position);
  }

  private advanceAcknowledged(position: LinePosition | undefined): void {
    if (position === undefined || (this.acknowledgedPosition !== undefined && position.offset <= this.acknowledgedPosition.offset)) return;
    this.acknowledgedPosition = position;
    this.emit('acknowledged', { position, objects: this.acknowledgedObjects } satisfies DataAcknowledgedEvent);
  }

  private async send(batch: PendingBatch): Promise<void> {
    const count = batch.count;
    const body = batch.body!.finish();
    const bodyBytes = body.length;
    this.lastBodyBytes = bodyBytes;
    this.stats.inFlight++;
    this.stats.requests++;
    try {
      const onRetry = () => void (this.stats.retries++, this.stats.requests++);
      const { requestId } = await inSpan(
        SPAN.safetykitAddBatch,
        { [ATTR.records]: count },
        (batchContext) => addData(this.#config, body, { signal: this.signal, onRetry, trace: { parent: batchContext } }),
        this.traceParent,
      );
      // Accepted: the bytes are not needed again (the batch may wait in the window for earlier
      // ones), and undici is done with them (the server read the whole body to answer).
      batch.body!.release();
      batch.body = undefined;
      this.stats.bytes += bodyBytes;
      this.stats.objects += count;
      this.stats.batches++;
      countPage(count, 'safetykit');
      this.requestIds.push(requestId);
      this.emit('request', { requestId, count, ...(batch.position ? { position: batch.position } : {}) } satisfies DataRequestEvent);
      this.acknowledge(batch);
      if (this.settings.waitForResults) {
        const status = await pollUntilFinal(this.#config, requestId, this.settings.poll, {
          signal: this.signal,
          trace: { parent: this.traceParent },
          onPoll: (seen) => {
            this.stats.requests++;
            if (seen.status === 'failed') this.statuses.failed = (this.statuses.failed ?? 0) + 1;
          },
        });
        this.statuses[status.status] = (this.statuses[status.status] ?? 0) + 1;
        this.emit('result', { requestId, count, status } satisfies DataResultEvent);
      }
    } finally {
      this.stats.inFlight--;
    }
    this.stats.elapsedMs = Date.now() - this.started;
    this.emit('progress', { ...this.stats });
  }
}
