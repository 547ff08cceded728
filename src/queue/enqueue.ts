/**
 * `enqueueExport()`: plan a partitioned export and put it on Redis as one BullMQ flow: a parent
 * job that finishes the export once its K partition jobs (the children) are done. Job ids come
 * from the export's parameters, so enqueueing the same export again adds nothing; it only sends
 * failed partitions back to work (they resume from the position saved in the database).
 */
import { ConfigError } from '../core/errors.js';
import { booleanOption, integerOption, stringOption } from '../core/options.js';
import { describePostgres, resolvePostgresConnection, withoutPassword } from '../destinations/pg-url.js';
import { planPartitions, type PlanOptions } from '../innerworks/partition-plan.js';
import { REDIS_TIMEOUT_MS, checkRedisUrl, connect, loadQueueLibraries, reachRedis } from './bullmq.js';
import { EXPORTS_QUEUE, PARTITIONS_QUEUE, QUEUE_PREFIX, deriveExportId, partitionJobId, type ExportJobData, type PartitionJobData } from './jobs.js';

/** Options of {@link enqueueExport}. */
export interface EnqueueExportOptions {
  /** Redis, `redis://[:PASSWORD@]HOST:PORT[/DB]` (Redis ≥ 6.2). Required. */
  queue: string;
  /** Start of the export (inclusive), epoch ms or a Date. Required. */
  startTime: number | Date;
  /** End of the export (exclusive), epoch ms or a Date. Required: an export id must not depend on the clock. */
  endTime: number | Date;
  /** Partitions (jobs), 1..4096. Default 8. */
  partitions?: number;
  /** With `totalRecords`: cut into more partitions of about this many records each (see `planPartitions`). Default none. */
  recordsPerPartition?: number;
  /** Records in the range, when known. Default unknown. */
  totalRecords?: number;
  /**
   * The database: `postgres://USER[:PASSWORD]@HOST:PORT/DATABASE` (libpq conventions; default
   * `DATABASE_URL` and `PG*`). Only PostgreSQL is shared by many machines; DuckDB and files are
   * refused. The password is not stored in Redis: workers take it from their own `PGPASSWORD`,
   * `DATABASE_URL` or `~/.pgpass`.
   */
  to?: string;
  /** Target table (created when missing). Required. */
  table: string;
  /** Also keep each whole record as JSON in a `record` column. Default false. */
  keepRecord?: boolean;
  /**
   * Let the workers add to a table that already holds rows but no saved position of this export
   * (see `exportInferenceResults`' `append`). Default false: the partitions fail with a ConfigError.
   */
  append?: boolean;
  /** Innerworks base URL the workers use. Default: each worker's `INNERWORKS_BASE_URL` (or production). */
  baseUrl?: string;
  /** Results per request, 1..5000. Default 1000. */
  batchSize?: number;
  /** Attempts per partition job before it fails (BullMQ `attempts`), 1..100. Default 3. */
  attempts?: number;
  /** First wait before a failed partition is tried again, ms, doubled each time (BullMQ exponential backoff). Default 5000. */
  backoffMs?: number;
  /** How long to wait for Redis to answer before failing with a ConnectionError, ms, 100..600 000. Default 10 000. */
  redisTimeoutMs?: number;
}

/** What {@link enqueueExport} did. */
export interface EnqueuedExport {
  exportId: string;
  partitions: number;
  /** False when the export was already enqueued (nothing was added). */
  added: boolean;
  /** Failed partition jobs sent back to work. */
  retried: number;
}

export async function enqueueExport(options: EnqueueExportOptions): Promise<EnqueuedExport> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  const queue = checkRedisUrl(options.queue);
  const startTime = timeOf('startTime', options.startTime);
  const endTime = timeOf('endTime', options.endTime);
  const plan: PlanOptions = {
    startTime,
    endTime,
    partitions: integerOption('partitions', options.partitions, 8, 1, 4096),
    recordsPerPartition: options.recordsPerPartition,
    totalRecords: options.totalRecords,
  };
  const ranges = planPartitions(plan);
  const table = stringOption('table', options.table, true)!;
  const to = stringOption('to', options.to);
  if (to !== undefined && !/^postgres(ql)?:\/\//.test(to)) {
    throw new ConfigError('to', 'must be a postgres:// URL: a queued export runs on many machines, and only a shared PostgreSQL is reachable from all of them (DuckDB files and local files are not)', withoutPassword(to));
  }
  const data: Omit<ExportJobData, 'exportId' | 'partitions'> = {
    plan,
    target: { to: sharedTarget(to), table, ...(options.keepRecord ? { keepRecord: true } : {}), ...(booleanOption('append', options.append, false) ? { append: true } : {}) },
    ...(options.baseUrl !== undefined ? { baseUrl: stringOption('baseUrl', options.baseUrl) } : {}),
    ...(options.batchSize !== undefined ? { batchSize: integerOption('batchSize', options.batchSize, 1000, 1, 5000) } : {}),
  };
  const attempts = integerOption('attempts', options.attempts, 3, 1, 100);
  const backoffMs = integerOption('backoffMs', options.backoffMs, 5000, 0, 86_400_000);
  const redisTimeoutMs = integerOption('redisTimeoutMs', options.redisTimeoutMs, REDIS_TIMEOUT_MS, 100, 600_000);
  const exportId = deriveExportId(data);
  const parentData: ExportJobData = { ...data, exportId, partitions: ranges.length };

  const enqueued = await enqueueFlow({ queue, redisTimeoutMs, id: exportId, partitions: ranges.length, attempts, backoffMs, parentName: 'finish-export', childName: 'export-partition', parentData, childData: (partition) => ({ ...parentData, partition }) satisfies PartitionJobData });
  return { exportId, ...enqueued };
}

/** What {@link enqueueFlow} puts in Redis: a parent job `id` and its `partitions` children. */
export interface Flow<P, C> {
  queue: string;
  redisTimeoutMs: number;
  /** The parent job's id (the export's or the predictions' id); child i is `partitionJobId(id, i)`. */
  id: string;
  partitions: number;
  attempts: number;
  backoffMs: number;
  parentName: string;
  childName: string;
  parentData: P;
  childData: (partition: number) => C;
}

/**
 * Add a flow once: when the parent `id` is in Redis already nothing is added and failed children
 * are sent back to work (they resume from the position saved in the database). Shared by
 * `enqueueExport` and `enqueuePredictions`.
 */
export async function enqueueFlow<P extends object, C extends object>(flow: Flow<P, C>): Promise<{ partitions: number; added: boolean; retried: number }> {
  const { queue, id, partitions } = flow;
  const libraries = await loadQueueLibraries();
  const { FlowProducer, Job, Queue } = libraries.bullmq;
  const connection = connect(libraries, queue);
  await reachRedis(connection, queue, flow.redisTimeoutMs);
  const producer = new FlowProducer({ connection, prefix: QUEUE_PREFIX });
  const partitionsQueue = new Queue(PARTITIONS_QUEUE, { connection, prefix: QUEUE_PREFIX });
  const exportsQueue = new Queue(EXPORTS_QUEUE, { connection, prefix: QUEUE_PREFIX });
  try {
    const existing = await Job.fromId(exportsQueue, id);
    if (existing) {
      let retried = 0;
      for (let partition = 0; partition < partitions; partition++) {
        const job = await Job.fromId(partitionsQueue, partitionJobId(id, partition));
        if (job && (await job.getState()) === 'failed') {
          await job.retry('failed');
          retried++;
        }
      }
      return { partitions, added: false, retried };
    }
    await producer.add({
      name: flow.parentName,
      queueName: EXPORTS_QUEUE,
      data: flow.parentData,
      opts: { jobId: id },
      children: Array.from({ length: partitions }, (_, partition) => ({
        name: flow.childName,
        queueName: PARTITIONS_QUEUE,
        data: flow.childData(partition),
        opts: { jobId: partitionJobId(id, partition), attempts: flow.attempts, backoff: { type: 'exponential', delay: flow.backoffMs } },
      })),
    });
    return { partitions, added: true, retried: 0 };
  } finally {
    await Promise.allSettled([producer.close(), partitionsQueue.close(), exportsQueue.close()]);
    connection.disconnect();
  }
}

/**
 * The database as the workers get it: `postgres://user@host:port/db`, never the password, plus
 * the `sslmode` and `connect_timeout` the enqueuer set (in the URL or its `PGSSLMODE` /
 * `PGCONNECT_TIMEOUT`), so that `sslmode=verify-full` is not dropped on the way. Parameters left
 * unset stay so: each worker's own `PG*` variables (or libpq's defaults) decide them.
 */
export function sharedTarget(to: string | undefined): string {
  const connection = resolvePostgresConnection(to, process.env, 'to');
  const given = new URL(to ?? (process.env.DATABASE_URL || 'postgres://')).searchParams;
  const query = new URLSearchParams();
  if (given.has('sslmode') || process.env.PGSSLMODE) query.set('sslmode', connection.sslMode);
  if (given.has('connect_timeout') || process.env.PGCONNECT_TIMEOUT) query.set('connect_timeout', String(connection.connectTimeoutS));
  const text = query.toString();
  return text ? `${describePostgres(connection)}?${text}` : describePostgres(connection);
}

function timeOf(name: string, value: unknown): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) throw new ConfigError(name, 'is required: epoch milliseconds or a Date', value instanceof Date ? 'Invalid Date' : value);
  return ms;
}
