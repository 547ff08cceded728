/**
 * A short read of a queue's Redis (status, the job list, the workers' records): the options
 * checked, a connection reached, the parent and partition queues opened, and everything closed
 * after, however the read ends. One copy for `exportStatus`, `listJobs` and `readStatusDocument`.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { integerOption } from '../core/options.js';
import { REDIS_TIMEOUT_MS, checkRedisUrl, connect, loadQueueLibraries, reachRedis, type BullmqModule } from './bullmq.js';
import { EXPORTS_QUEUE, PARTITIONS_QUEUE, QUEUE_PREFIX } from './jobs.js';

/** What a read is given. `queue` is the checked Redis URL. */
export interface QueueReader {
  queue: string;
  Job: BullmqModule['Job'];
  connection: Redis;
  exportsQueue: Queue;
  partitionsQueue: Queue;
}

/** The options every read takes, checked here (ConfigError naming the option). */
export interface QueueReadOptions {
  queue: unknown;
  redisTimeoutMs?: unknown;
}

/** Run `read` on a reached connection to the queue's Redis; the queues and connection are closed after. */
export async function readQueue<T>(options: QueueReadOptions, read: (reader: QueueReader) => Promise<T>): Promise<T> {
  const queue = checkRedisUrl(options.queue);
  const redisTimeoutMs = integerOption('redisTimeoutMs', options.redisTimeoutMs, REDIS_TIMEOUT_MS, 100, 600_000);
  const libraries = await loadQueueLibraries();
  const { Job, Queue } = libraries.bullmq;
  const connection = connect(libraries, queue);
  await reachRedis(connection, queue, redisTimeoutMs);
  const exportsQueue = new Queue(EXPORTS_QUEUE, { connection, prefix: QUEUE_PREFIX });
  const partitionsQueue = new Queue(PARTITIONS_QUEUE, { connection, prefix: QUEUE_PREFIX });
  try {
    return await read({ queue, Job, connection, exportsQueue, partitionsQueue });
  } finally {
    await Promise.allSettled([exportsQueue.close(), partitionsQueue.close()]);
    connection.disconnect();
  }
}
