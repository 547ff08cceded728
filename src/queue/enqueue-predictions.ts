/**
 * `enqueuePredictions()`: a JSONL file of inputs cut into K byte ranges at line starts
 * (`planLineRanges`), put on Redis as one BullMQ flow exactly like `enqueueExport` (the same
 * queues, the same `worker` runs them): each partition job runs `predictInto` over its range into
 * the shared PostgreSQL table, committing its predictions with its byte position, so a killed
 * worker's partition resumes elsewhere from there. The id comes from the parameters and the
 * file's identity: enqueueing the same predictions again adds nothing.
 *
 * The file is read by the workers, at the same path: it must be on a volume every worker mounts
 * there. Redis holds no credential: each worker reads `REINFER_TOKEN` (and the database password)
 * from its own environment.
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { isDescriptorPath, readFileIdentity } from '../core/file-identity.js';
import { sniffJsonInput } from '../core/json-input.js';
import { planLineRanges } from '../core/line-ranges.js';
import { booleanOption, integerOption, stringOption } from '../core/options.js';
import type { PredictionColumn } from '../destinations/columns.js';
import { withoutPassword } from '../destinations/pg-url.js';
import { resolveLabels, resolveThreshold, resolveVersion } from '../reinfer/options.js';
import { predictionColumns } from '../reinfer/prediction-row.js';
import type { LabelRequest, ModelVersion } from '../reinfer/types.js';
import { REDIS_TIMEOUT_MS, checkRedisUrl } from './bullmq.js';
import { enqueueFlow, sharedTarget } from './enqueue.js';
import { derivePredictionsId, type PredictJobData, type PredictPartitionJobData, type QueuedPredictSettings } from './jobs.js';

/** Options of {@link enqueuePredictions}. */
export interface EnqueuePredictionsOptions {
  /** Redis, `redis://[:PASSWORD@]HOST:PORT[/DB]` (Redis ≥ 6.2). Required. */
  queue: string;
  /**
   * The inputs: a JSONL file (one input per line) at a path every worker can read the same file
   * at (a shared volume). Required. A JSON array, stdin or a pipe is refused: only lines can be cut
   * into byte ranges that workers read apart.
   */
  input: string;
  /** Partitions (jobs), 1..4096; each gets about `size / K` bytes of the file, cut at line starts. Default 8. */
  partitions?: number;
  /**
   * The database: `postgres://USER[:PASSWORD]@HOST:PORT/DATABASE` (default `DATABASE_URL` and
   * `PG*`). Only PostgreSQL is shared by many machines. The password is not stored in Redis.
   */
  to?: string;
  /** Target table (created when missing). Required. */
  table: string;
  /** Add to a table that holds rows but no saved position of these predictions. Default false. */
  append?: boolean;
  /** Tenant endpoint the workers use. Default: each worker's `REINFER_ENDPOINT`. */
  endpoint?: string;
  /** Project name. Required. */
  project: string;
  /** Dataset name. Required. */
  dataset: string;
  /** Model version: an integer, `'live'` or `'staging'`. Default `'live'`. */
  version?: ModelVersion;
  /** Endpoint: `'documents'`, `'rawEmails'` or `'comments'`. Default `'documents'`. */
  mode?: 'documents' | 'rawEmails' | 'comments';
  /** `rawEmails`: how the platform parses the emails (required there). */
  transformTag?: string;
  /** `rawEmails`: add the parsed comment to each prediction. Default false. */
  includeComments?: boolean;
  /** Confidence threshold 0..1 or `'auto'`. Default the server's. */
  threshold?: number | 'auto';
  /** Only these labels. Default all. */
  labels?: LabelRequest[];
  /** Table columns (see `predictInto`). Default all but `input`. */
  columns?: readonly PredictionColumn[];
  /** The input field written in the `id` column. Default `'id'`. */
  idField?: string;
  /** Add the `input` column. Default false. */
  keepInput?: boolean;
  /** Write inputs that cannot be predicted as failure rows instead of failing the partition. Default false. */
  skipInvalid?: boolean;
  /** Inputs per request, 1..4096. Default 2048. */
  batchSize?: number;
  /**
   * Requests in flight PER WORKER JOB (1..256 or `'auto'`); K partitions running at once send up
   * to K × this to the tenant, whose rate limit they share. Default 4.
   */
  concurrency?: number | 'auto';
  /** Ceiling of `concurrency: 'auto'`, per job. Default 16. */
  maxConcurrency?: number;
  /** Whole-request timeout, ms. Default 240 000. */
  timeoutMs?: number;
  /** Attempts per partition job before it fails, 1..100. Default 3. */
  attempts?: number;
  /** First wait before a failed partition is tried again, ms, doubled each time. Default 5000. */
  backoffMs?: number;
  /** How long to wait for Redis to answer, ms, 100..600 000. Default 10 000. */
  redisTimeoutMs?: number;
}

/** What {@link enqueuePredictions} did. */
export interface EnqueuedPredictions {
  /** The id `status` takes (`prd-…`); the same for the same predictions. */
  id: string;
  partitions: number;
  /** False when these predictions were already enqueued (nothing was added). */
  added: boolean;
  /** Failed partition jobs sent back to work. */
  retried: number;
}

/**
 * Enqueue predictions of a JSONL file for `exportWorker`s: K partition jobs (one byte range each)
 * under one parent job, keyed by an id derived from the parameters and the file's identity, so
 * that enqueueing the same again adds nothing (it only sends failed partitions back to work).
 * Everything is checked before Redis is touched: a JSON array, stdin or a pipe is a ConfigError.
 */
export async function enqueuePredictions(options: EnqueuePredictionsOptions): Promise<EnqueuedPredictions> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  const queue = checkRedisUrl(options.queue);
  const given = stringOption('input', options.input, true)!;
  if (given === '-' || isDescriptorPath(given)) throw new ConfigError('input', 'must be a JSONL file on a volume every worker reads at the same path: stdin or a pipe cannot be split among workers', given);
  const input = resolve(given);
  const partitions = integerOption('partitions', options.partitions, 8, 1, 4096);
  const table = stringOption('table', options.table, true)!;
  const to = stringOption('to', options.to);
  if (to !== undefined && !/^postgres(ql)?:\/\//.test(to)) {
    throw new ConfigError('to', 'must be a postgres:// URL: queued predictions run on many machines, and only a shared PostgreSQL is reachable from all of them (DuckDB files and local files are not)', withoutPassword(to));
  }
  const predict = predictSettings(options);
  const attempts = integerOption('attempts', options.attempts, 3, 1, 100);
  const backoffMs = integerOption('backoffMs', options.backoffMs, 5000, 0, 86_400_000);
  const redisTimeoutMs = integerOption('redisTimeoutMs', options.redisTimeoutMs, REDIS_TIMEOUT_MS, 100, 600_000);
  const { isFile, ...identity } = await readFileIdentity(input).catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError('input', `cannot be read (${error.code ?? error.message})`, given);
  });
  if (!isFile) throw new ConfigError('input', 'must be a regular JSONL file: a pipe or device cannot be split among workers', given);
  const { shape, bytes } = await sniffJsonInput(createReadStream(input));
  bytes.destroy();
  if (shape !== 'jsonl') throw new ConfigError('input', 'is a JSON document (an array), not JSONL: only lines can be cut into ranges that workers read apart; convert it first, e.g. jq -c ".[]" in.json > in.jsonl', given);
  const target = { to: sharedTarget(to), table, ...(booleanOption('append', options.append, false) ? { append: true } : {}) };
  const id = derivePredictionsId({ kind: 'predict', input, identity, partitions, target, predict });
  const ranges = await planLineRanges(input, identity.size, partitions);
  const parentData: PredictJobData = { kind: 'predict', exportId: id, partitions, input, identity, ranges, target, predict };
  const enqueued = await enqueueFlow({ queue, redisTimeoutMs, id, partitions, attempts, backoffMs, parentName: 'finish-predictions', childName: 'predict-partition', parentData, childData: (partition) => ({ ...parentData, partition }) satisfies PredictPartitionJobData });
  return { id, ...enqueued };
}

/** The predict options as the workers get them: checked here, so a bad one fails before anything is enqueued. */
function predictSettings(options: EnqueuePredictionsOptions): QueuedPredictSettings {
  const mode = options.mode ?? 'documents';
  if (!['documents', 'rawEmails', 'comments'].includes(mode)) throw new ConfigError('mode', 'must be documents, rawEmails or comments', mode);
  if (mode === 'rawEmails' && stringOption('transformTag', options.transformTag) === undefined) throw new ConfigError('transformTag', 'is required with mode rawEmails');
  resolveVersion(options.version);
  resolveThreshold(options.threshold);
  resolveLabels(options.labels);
  const keepInput = booleanOption('keepInput', options.keepInput, false);
  predictionColumns(options.columns, keepInput);
  const concurrency = options.concurrency === 'auto' ? 'auto' : options.concurrency === undefined ? undefined : integerOption('concurrency', options.concurrency, 4, 1, 256);
  const settings: QueuedPredictSettings = {
    endpoint: stringOption('endpoint', options.endpoint),
    project: stringOption('project', options.project, true)!,
    dataset: stringOption('dataset', options.dataset, true)!,
    version: options.version,
    mode,
    transformTag: options.transformTag,
    includeComments: options.includeComments,
    threshold: options.threshold,
    labels: options.labels,
    columns: options.columns === undefined ? undefined : [...options.columns],
    idField: stringOption('idField', options.idField),
    keepInput: keepInput || undefined,
    skipInvalid: booleanOption('skipInvalid', options.skipInvalid, false) || undefined,
    batchSize: options.batchSize === undefined ? undefined : integerOption('batchSize', options.batchSize, 2048, 1, 4096),
    concurrency,
    maxConcurrency: options.maxConcurrency === undefined ? undefined : integerOption('maxConcurrency', options.maxConcurrency, 16, 1, 256),
    timeoutMs: options.timeoutMs === undefined ? undefined : integerOption('timeoutMs', options.timeoutMs, 240_000, 1, 86_400_000),
  };
  // Undefined fields out: JSON would drop them anyway, and the id must not depend on how they were spelled.
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)) as unknown as QueuedPredictSettings;
}
