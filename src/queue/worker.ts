/**
 * `exportWorker()`: runs partition jobs (and the jobs that finish an export) until closed. Each
 * partition job exports its time range into the destination with `exportPartition`, which keeps
 * the position with the rows; after every committed page the job's progress is updated. A worker
 * that dies mid-partition stops renewing its job's lock, BullMQ's stalled-job check hands the job
 * to another worker, and that one resumes from the saved position: every record once.
 *
 * A worker checks at startup that Redis and the API answer (with its key), and refuses to start
 * otherwise. A failure that may not be the job's (the API or the database unreachable, or
 * refusing credentials: see own-failure.ts) uses no attempt. An API failure is checked at once
 * with a probe: when it answers, the failure was the job's after all and uses an attempt. The job
 * goes back without using one, up to a cap per job (hand-back.ts), after which it is charged.
 * Failures of the worker's own settings, a few in a row, pause it until a probe finds the outage
 * over (self-pause.ts); an address the export names never pauses a worker.
 * Each worker publishes a small record of itself for `status` (heartbeat.ts).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Job, Worker } from 'bullmq';
import { AbortError, ConfigError, InvalidRequestError, NotFoundError } from '../core/errors.js';
import { integerOption, resolveBaseUrl, resolveSecret } from '../core/options.js';
import { checkPostgres } from '../destinations/postgres.js';
import { INNERWORKS_DEFAULT_BASE_URL } from '../innerworks/client.js';
import { exportPartition } from '../innerworks/export-partition.js';
import { planPartitions } from '../innerworks/partition-plan.js';
import { QUICK_CHECK, resultsAfter, type ResultsAfter } from '../innerworks/results-after.js';
import { isPredictJob, type PredictPartitionJobData } from './jobs.js';
import { predictPartition } from './predict-partition.js';
import { REDIS_TIMEOUT_MS, checkRedisUrl, connect, loadQueueLibraries, reachRedis, watchRedis, withoutPassword } from './bullmq.js';
import { HEARTBEAT_INTERVAL_MS, publishHeartbeat, removeHeartbeat, type WorkerStatus } from './heartbeat.js';
import { EXPORTS_QUEUE, PARTITIONS_QUEUE, QUEUE_PREFIX, type ExportJobData, type FinishedExport, type PartitionJobData, type PartitionProgress } from './jobs.js';
import { chargeAfterHandBacks, DEFAULT_HAND_BACK_WINDOW_MS, DEFAULT_MAX_HAND_BACKS, handBackDelayMs } from './hand-back.js';
import { apiTarget, ownFailure, type Outage } from './own-failure.js';
import { checkInnerworks } from './preflight.js';
import { ProgressWriter } from './progress-writer.js';
import { SelfPause } from './self-pause.js';
import { checkMetricsOptions, openMetricsEndpoint, type MetricsEndpoint } from './metrics-endpoint.js';
import { countJobActive, countJobFinished, setPausedGauge, type JobKind } from './worker-metrics.js';


/** Options of {@link exportWorker}. */
export interface ExportWorkerOptions {
  /** Redis, `redis://[:PASSWORD@]HOST:PORT[/DB]`. Required. */
  queue: string;
  /**
   * Innerworks API key. Default `INNERWORKS_API_KEY` (never read from Redis). Checked at startup
   * with one small request: a refused key is a ConfigError and the worker does not start.
   */
  apiKey?: string;
  /**
   * Innerworks base URL when the export does not name one. Default `INNERWORKS_BASE_URL`, else
   * production. Checked at startup: when it does not answer, a ConnectionError (or TimeoutError)
   * naming it, and the worker does not start.
   */
  baseUrl?: string;
  /** Partition jobs run at once by this worker, 1..64. Default 1. */
  concurrency?: number;
  /** How often BullMQ looks for jobs whose worker died, ms. Default 30 000 (BullMQ's). */
  stalledInterval?: number;
  /** How long a job's lock lasts without renewal, ms (a dead worker's job is free after this). Default 30 000 (BullMQ's). */
  lockDuration?: number;
  /** Times a job may be found stalled (its worker died) before it fails, 1..1000. Default 100: a kill is not the job's fault. */
  maxStalledCount?: number;
  /**
   * Times one job may be handed back (for an unreachable API or database, or refused
   * credentials) before such a failure uses one of its attempts after all, 0..1000. Default 10
   * (the waits between them grow from 1 s to 15 s: about two minutes in all). The count is kept
   * with the job, across workers, and starts again once the job commits a page.
   */
  maxHandBacks?: number;
  /**
   * Time since a job's first hand-back after which a further failure uses an attempt, ms,
   * 1000..86 400 000; also the longest a worker stays paused because the database a job names
   * refuses its password. Default 600 000 (10 minutes).
   */
  handBackWindowMs?: number;
  /** Told about each job's start, pages and end (for logs). Default none. */
  onEvent?: (event: WorkerEvent) => void;
  /** How long to wait for Redis to answer at startup before failing with a ConnectionError, ms, 100..600 000. Default 10 000. */
  redisTimeoutMs?: number;
  /**
   * Serve this process's metrics on `GET http://{metricsHost}:{metricsPort}/metrics` in the
   * Prometheus text format (records and pages by destination, requests, the worker's jobs, whether
   * it paused itself), from startup until `close()`; 0..65535 (0: any free port, see
   * `metricsUrl`). Needs the optional packages `@opentelemetry/sdk-metrics` and
   * `@opentelemetry/exporter-prometheus`, and registers a global MeterProvider: a ConfigError when
   * the application registered its own (add a PrometheusExporter to that one instead), or when
   * the port is in use. Default none: no endpoint.
   */
  metricsPort?: number;
  /** The address the metrics endpoint listens on (it has no authentication). Default `127.0.0.1`. */
  metricsHost?: string;
  /**
   * Stops the worker: during startup it gives up at once (AbortError), after it is the same as
   * `close()`. Default none.
   */
  signal?: AbortSignal;
}

/** What a worker tells `onEvent`. */
export type WorkerEvent =
  | { type: 'started'; exportId: string; partition: number; attempt: number }
  | { type: 'page'; exportId: string; partition: number; progress: PartitionProgress }
  | { type: 'completed'; exportId: string; partition: number; progress: PartitionProgress }
  | { type: 'stopped'; exportId: string; partition: number; progress: PartitionProgress }
  | { type: 'failed'; exportId: string; partition: number; error: Error }
  /**
   * The failure was not the job's (`reason`): it went back to the queue without using an
   * attempt, for the `handBacks`-th time of at most `maxHandBacks`.
   */
  | { type: 'handed-back'; exportId: string; partition: number; reason: string; handBacks: number; maxHandBacks: number }
  /**
   * The worker paused itself after failures of its own in a row (and again after each failed
   * probe): it takes no new jobs until a probe of what failed succeeds.
   */
  | { type: 'paused'; reason: string; nextProbeInMs: number; lastProbeError?: string }
  /** A probe succeeded: the worker takes jobs again. */
  | { type: 'resumed'; pausedMs: number }
  /** Redis went away (`unreachable`: the worker waits for it, reconnecting) or is `back` after `downMs`. */
  | { type: 'redis'; state: 'unreachable'; queue: string }
  | { type: 'redis'; state: 'back'; queue: string; downMs: number }
  /**
   * Every partition is done. `resultsAfterEnd`: an export's results at or after its end time when
   * it finished (one page counted; absent when none were there or the check failed).
   */
  | { type: 'finished'; exportId: string; records: number; endTime?: number; resultsAfterEnd?: ResultsAfter }
  /** Trouble outside a job: Redis errors, a lock that could not be renewed, a job not handed back. The worker goes on. */
  | { type: 'error'; error: Error };

/** A running worker. */
export interface ExportWorker {
  /** `HOST:PID:RANDOM`, as `status` lists it. */
  readonly id: string;
  /** The Redis URL it serves, without its password. */
  readonly queue: string;
  /** The Innerworks base URL it uses when an export names none (checked with its key at startup). */
  readonly baseUrl: string;
  /** `http://HOST:PORT/metrics` when it serves its metrics (`metricsPort`), else undefined. */
  readonly metricsUrl: string | undefined;
  /** Where it stands: running, or paused by itself and why (the record `status` shows). */
  status(): WorkerStatus;
  /**
   * Stop taking jobs; partitions in hand finish the page being written, commit it and go back to
   * the queue for the next worker. Resolves once the worker has let go of Redis.
   */
  close(): Promise<void>;
}

export async function exportWorker(options: ExportWorkerOptions): Promise<ExportWorker> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  const queue = checkRedisUrl(options.queue);
  const concurrency = integerOption('concurrency', options.concurrency, 1, 1, 64);
  const stalledInterval = integerOption('stalledInterval', options.stalledInterval, 30_000, 100, 3_600_000);
  const lockDuration = integerOption('lockDuration', options.lockDuration, 30_000, 100, 3_600_000);
  const maxStalledCount = integerOption('maxStalledCount', options.maxStalledCount, 100, 1, 1000);
  const redisTimeoutMs = integerOption('redisTimeoutMs', options.redisTimeoutMs, REDIS_TIMEOUT_MS, 100, 600_000);
  const maxHandBacks = integerOption('maxHandBacks', options.maxHandBacks, DEFAULT_MAX_HAND_BACKS, 0, 1000);
  const handBackWindowMs = integerOption('handBackWindowMs', options.handBackWindowMs, DEFAULT_HAND_BACK_WINDOW_MS, 1000, 86_400_000);
  const metricsNames = { port: 'metricsPort', host: 'metricsHost' };
  if (options.metricsPort === undefined && options.metricsHost !== undefined) throw new ConfigError('metricsHost', 'needs metricsPort', options.metricsHost);
  const metricsListen = options.metricsPort === undefined ? undefined : checkMetricsOptions(options.metricsPort, options.metricsHost, metricsNames);
  if (options.apiKey === undefined && !process.env.INNERWORKS_API_KEY) throw new ConfigError('apiKey', 'is required: pass it or set INNERWORKS_API_KEY (workers never read it from Redis)');
  const apiKey = resolveSecret('apiKey', options.apiKey, 'INNERWORKS_API_KEY');
  const defaultBaseUrl = resolveBaseUrl('baseUrl', options.baseUrl, 'INNERWORKS_BASE_URL', INNERWORKS_DEFAULT_BASE_URL);
  const emit = options.onEvent ?? (() => undefined);
  const libraries = await loadQueueLibraries();
  const { Worker, WaitingError, DelayedError, UnrecoverableError } = libraries.bullmq;
  // Aborted by close(): partitions in hand stop after their current page, probes stop.
  const stopping = new AbortController();
  const id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  let active = 0;
  // Created once Redis answered; the self-pause pauses and resumes it.
  let partitions: Worker<PartitionJobData, PartitionProgress> | undefined;

  const status = (): WorkerStatus => {
    const health = selfPause.health;
    return {
      id,
      host: hostname(),
      pid: process.pid,
      baseUrl: apiTarget(defaultBaseUrl),
      concurrency,
      active,
      state: health.state,
      ...(health.state === 'paused' ? { pausedReason: health.reason, pausedSince: health.since, nextProbeAt: health.nextProbeAt } : {}),
      updatedAt: Date.now(),
    };
  };
  // Jobs handed back in the last seconds: BullMQ's lock renewal may not know yet that they are gone.
  const handedBack = new Set<string>();
  const noteHandedBack = (jobId: string | undefined) => {
    if (jobId === undefined) return;
    handedBack.add(jobId);
    setTimeout(() => handedBack.delete(jobId), 2 * lockDuration).unref();
  };
  // One refresh at a time: while Redis is away a write waits for the reconnect, and must not pile up.
  let publishing: Promise<void> | undefined;
  const publish = () => {
    publishing ??= publishHeartbeat(connections[1], status())
      .catch((error: Error) => emit({ type: 'error', error }))
      .finally(() => (publishing = undefined));
  };

  const probe = (outage: Outage, signal: AbortSignal) => (outage.kind === 'api' ? checkInnerworks({ apiKey, baseUrl: outage.address, startup: false, signal }) : checkPostgres(outage.address, signal));
  const selfPause = new SelfPause({
    pause: async () => partitions?.pause(true),
    resume: async () => partitions?.resume(),
    probe,
    // Its API (base URL and key from its environment) is the worker's alone: paused until it works.
    // A database password pause probes a host a job named, which may never answer: bounded.
    maxPauseMs: (outage) => (outage.kind === 'api' ? undefined : handBackWindowMs),
    onChange: (health, previous) => {
      setPausedGauge(health.state === 'paused');
      if (health.state === 'paused') emit({ type: 'paused', reason: health.reason, nextProbeInMs: Math.max(0, health.nextProbeAt - Date.now()), ...(health.lastProbeError ? { lastProbeError: health.lastProbeError } : {}) });
      else if (previous.state === 'paused') emit({ type: 'resumed', pausedMs: Date.now() - previous.since });
      publish();
    },
    signal: stopping.signal,
  });

  const runPartition = async (job: Job<PartitionJobData, PartitionProgress>, token?: string): Promise<PartitionProgress> => {
    const { exportId, partition, target } = job.data;
    // Queued predictions (enqueuePredictions) call Reinfer with this worker's REINFER_TOKEN.
    const predict = isPredictJob(job.data) ? (job.data as unknown as PredictPartitionJobData) : undefined;
    const baseUrl = predict ? (predict.predict.endpoint ?? process.env.REINFER_ENDPOINT ?? '') : (job.data.baseUrl ?? defaultBaseUrl);
    emit({ type: 'started', exportId, partition, attempt: job.attemptsMade + 1 });
    const kind: JobKind = predict ? 'predict' : 'export';
    countJobActive(kind, 1);
    active++;
    // What the job reported last (a resumed job starts from it), with when a worker first took it:
    // `status` measures the partition's rate from then (BullMQ's processedOn restarts at each attempt).
    const previous = progressOf(job.progress);
    let latest: PartitionProgress = { ...previous, startedAt: previous.startedAt ?? Date.now() };
    let outcome;
    // Each page's progress is written while the next page is (at most one page behind).
    const progressWriter = new ProgressWriter<PartitionProgress>((progress) => job.updateProgress(progress));
    try {
      if (previous.startedAt === undefined) await job.updateProgress(latest);
      const onPredictPage = async (progress: PartitionProgress) => {
        selfPause.succeeded();
        latest = { ...progress, startedAt: latest.startedAt };
        await progressWriter.report(latest);
        emit({ type: 'page', exportId, partition, progress: latest });
      };
      outcome = predict ? await predictPartition(predict, stopping.signal, onPredictPage, previous) : await exportPartition({
        apiKey,
        baseUrl,
        batchSize: job.data.batchSize,
        to: target.to,
        table: target.table,
        keepRecord: target.keepRecord,
        append: target.append,
        exportId,
        plan: planPartitions(job.data.plan),
        partition,
        signal: stopping.signal,
        onPage: async (position, _stats, positionTime) => {
          selfPause.succeeded();
          // Progress: earlier hand-backs were an outage that is over, not a job that cannot work.
          if (job.data.handBacks !== undefined) {
            const { handBacks: _handBacks, firstHandBackAt: _first, ...data } = job.data;
            await job.updateData(data);
          }
          latest = { ...latest, records: position.records, pages: position.pages, done: position.done, ...(positionTime === undefined ? {} : { positionTime }) };
          await progressWriter.report(latest);
          emit({ type: 'page', exportId, partition, progress: latest });
        },
      });
      // The last page's progress is in Redis before the job completes or goes back.
      await progressWriter.flush();
    } catch (error) {
      // No progress write may land after the job moved on (its error, if any, is not the one to report).
      await progressWriter.flush().catch(() => undefined);
      const err = error instanceof Error ? error : new Error(String(error));
      const outage = ownFailure(err, { baseUrl, to: target.to, workerBaseUrl: defaultBaseUrl });
      const charged = outage && (await chargeToJob(job, outage));
      if (outage && !charged) {
        // Not the partition's fault: back to the queue for another worker (or this one once the
        // outage is over) without using an attempt, counted toward the job's cap. A failure of
        // this worker's own settings also counts toward pausing it, first, so that it does not
        // fetch the next job only to fail it the same way.
        const handBacks = (job.data.handBacks ?? 0) + 1;
        await job.updateData({ ...job.data, handBacks, firstHandBackAt: job.data.firstHandBackAt ?? Date.now() });
        emit({ type: 'handed-back', exportId, partition, reason: outage.reason, handBacks, maxHandBacks });
        countJobFinished(kind, 'handed_back');
        if (outage.own) await selfPause.failed(outage);
        noteHandedBack(job.id);
        await job.moveToDelayed(Date.now() + handBackDelayMs(handBacks), token);
        throw new DelayedError();
      }
      countJobFinished(kind, 'failed');
      if (charged) {
        const chargedError = new Error(`${outage.reason} (${charged})`, { cause: err });
        emit({ type: 'failed', exportId, partition, error: chargedError });
        throw chargedError;
      }
      emit({ type: 'failed', exportId, partition, error: err });
      // Retrying cannot fix a bad option or a request the server refuses: fail the job at once, with the reason.
      if (err instanceof ConfigError || err instanceof InvalidRequestError || err instanceof NotFoundError) {
        throw new UnrecoverableError(err.message);
      }
      throw err;
    } finally {
      active--;
      countJobActive(kind, -1);
    }
    selfPause.succeeded();
    const progress: PartitionProgress = { ...latest, records: outcome.position.records, pages: outcome.position.pages, done: outcome.position.done };
    if (outcome.stopped) {
      // Hand the job back at once (not after the lock expires): the next worker resumes it.
      emit({ type: 'stopped', exportId, partition, progress });
      countJobFinished(kind, 'handed_back');
      await job.updateProgress(progress);
      noteHandedBack(job.id);
      await job.moveToWait(token);
      throw new WaitingError();
    }
    emit({ type: 'completed', exportId, partition, progress });
    countJobFinished(kind, 'completed');
    return progress;
  };

  /**
   * Why a failure that looks like an outage must use one of the job's attempts after all, or
   * undefined: the job's hand-backs are used up, or the API answers a probe at once (the request,
   * not the way to the server, is what fails: a page that times out every time, a 403 about this
   * request). A database that answers again right after is an outage ending (a restart refuses
   * logins while it starts up): handed back, and the cap still bounds it.
   */
  const chargeToJob = async (job: Job<PartitionJobData, PartitionProgress>, outage: Outage): Promise<string | undefined> => {
    const used = chargeAfterHandBacks(job.data, Date.now(), { maxHandBacks, windowMs: handBackWindowMs });
    if (used) return used;
    if (outage.kind !== 'api') return undefined;
    try {
      await probe(outage, stopping.signal);
    } catch {
      return undefined;
    }
    return stopping.signal.aborted ? undefined : `${outage.target} answered a check right after, so the failure is this job's and uses an attempt`;
  };

  const finishExport = async (job: Job<ExportJobData>): Promise<FinishedExport> => {
    const values = Object.values(await job.getChildrenValues<PartitionProgress>());
    const records = values.reduce((sum, value) => sum + value.records, 0);
    const pages = values.reduce((sum, value) => sum + value.pages, 0);
    // What the export's end time left out, said by status and the log; informative, so a failed check is no failure.
    const after = isPredictJob(job.data)
      ? undefined
      : await resultsAfter({ apiKey, baseUrl: job.data.baseUrl ?? defaultBaseUrl, time: job.data.plan.endTime, signal: stopping.signal, ...QUICK_CHECK }).catch(() => undefined);
    const resultsAfterEnd = after && after.results > 0 ? { resultsAfterEnd: after } : {};
    emit({ type: 'finished', exportId: job.data.exportId, records, ...(isPredictJob(job.data) ? {} : { endTime: job.data.plan.endTime }), ...resultsAfterEnd });
    return { records, pages, partitions: values.length, ...resultsAfterEnd };
  };

  const common = { prefix: QUEUE_PREFIX, stalledInterval, lockDuration, maxStalledCount };
  const connections = [connect(libraries, queue), connect(libraries, queue)];
  // What close() must close: the Workers created so far (none when Redis was not reached).
  const workers: Array<{ close(): Promise<void> }> = [];
  let heartbeat: NodeJS.Timeout | undefined;
  let metricsEndpoint: MetricsEndpoint | undefined;
  let redisDown = false;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      options.signal?.removeEventListener('abort', onAbort);
      stopping.abort();
      clearInterval(heartbeat);
      await Promise.allSettled(workers.map((worker) => worker.close()));
      // Gone from status at once; bounded, since a command waits for a Redis that is away.
      if (heartbeat) await Promise.race([removeHeartbeat(connections[1], id).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000))]);
      for (const connection of connections) connection.disconnect();
      await metricsEndpoint?.close();
    })();
    return closing;
  };
  const onAbort = () => void close();
  try {
    // First, so that a port in use fails before anything else is tried.
    if (metricsListen) metricsEndpoint = await openMetricsEndpoint(metricsListen, metricsNames);
    // The gauge is there from the start (0), in this endpoint or an application's own SDK.
    setPausedGauge(false);
    // Fail fast on an unreachable Redis (the connections would otherwise retry forever).
    await Promise.all(connections.map((connection) => reachRedis(connection, queue, redisTimeoutMs, options.signal)));
    // From now on, said once when Redis goes away and once when it is back (also during the rest
    // of the startup; not at our own disconnect).
    watchRedis(connections[0], (reach) => {
      redisDown = reach.state === 'unreachable';
      if (!stopping.signal.aborted) emit({ type: 'redis', queue: withoutPassword(queue), ...reach });
      if (reach.state === 'back' && heartbeat) publish();
    });
    // Refuse to start with an API that does not answer or refuses the key: such a worker would
    // take jobs only to fail them.
    await checkInnerworks({ apiKey, baseUrl: defaultBaseUrl, startup: true, signal: options.signal });
    await preloadDatabaseDriver();
    partitions = new Worker<PartitionJobData, PartitionProgress>(PARTITIONS_QUEUE, runPartition, { ...common, connection: connections[0], concurrency });
    const finishers = new Worker<ExportJobData>(EXPORTS_QUEUE, finishExport, { ...common, connection: connections[1], concurrency: 1 });
    workers.push(partitions, finishers);
    // Job failures are reported through onEvent ('failed'); the rest (lock renewal, moveToWait,
    // Redis) as 'error' events: the worker goes on, ioredis retries. Without these listeners a
    // worker's 'error' event would be unhandled and end the process.
    // While Redis is away every reconnect of every connection fails: one 'redis' event says it.
    // A job just handed back has no lock any more, and BullMQ may still try to renew it once.
    const onError = (error: Error) => {
      if (redisDown && isRedisConnectionError(error)) return;
      const lockOf = /^could not renew lock for job (.+)$/.exec(error.message)?.[1];
      if (lockOf !== undefined && handedBack.has(lockOf)) return;
      emit({ type: 'error', error });
    };
    partitions.on('error', onError);
    finishers.on('error', onError);
    await Promise.all([partitions.waitUntilReady(), finishers.waitUntilReady()]);
    if (options.signal?.aborted) throw new AbortError('worker stopped during startup', { cause: options.signal.reason });
    publish();
    heartbeat = setInterval(publish, HEARTBEAT_INTERVAL_MS);
    heartbeat.unref();
  } catch (error) {
    // Let go of whatever was opened: a failed start must not keep the process alive.
    await close();
    throw error;
  }
  options.signal?.addEventListener('abort', onAbort, { once: true });
  return { id, queue: withoutPassword(queue), baseUrl: apiTarget(defaultBaseUrl), metricsUrl: metricsEndpoint?.url, status, close };
}

/**
 * Load the PostgreSQL driver (every job of a worker writes to PostgreSQL) while the worker starts,
 * not in its first job: profiled, compiling `pg` and its type parsers was about 250 ms of the
 * 650–760 ms of CPU the first page of each worker took (a later page takes about 90 ms), paid by
 * every worker inside the export's time (after: 360–480 ms). A driver that is not installed is
 * still reported by the job, as before.
 */
async function preloadDatabaseDriver(): Promise<void> {
  await Promise.allSettled([import('pg'), import('pg-copy-streams')]);
}

/** A job's last reported progress (a resumed job starts from it), or zeros. */
function progressOf(progress: unknown): PartitionProgress {
  const p = progress as Partial<PartitionProgress> | undefined;
  if (typeof p !== 'object' || p === null || typeof p.records !== 'number' || typeof p.pages !== 'number') return { records: 0, pages: 0, done: false };
  const known = (value: unknown) => typeof value === 'number' && Number.isFinite(value);
  return {
    records: p.records,
    pages: p.pages,
    done: p.done === true,
    ...(known(p.positionTime) ? { positionTime: p.positionTime } : {}),
    ...(known(p.positionByte) ? { positionByte: p.positionByte } : {}),
    ...(known(p.startedAt) ? { startedAt: p.startedAt } : {}),
  };
}

/** An error that only says Redis cannot be reached (a refused or lost connection). */
function isRedisConnectionError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'].includes(code)) || /Connection is closed/i.test(error.message);
}
