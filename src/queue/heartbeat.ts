/**
 * Each worker keeps a small record of itself in Redis, refreshed every few seconds and expiring
 * soon after the worker is gone, so that `status` can say which workers serve the queue and
 * which paused themselves, and why. The record holds no secret: the API's origin and path, the
 * host and pid, and a reason already redacted.
 */
import type { Redis } from 'ioredis';
import { redact } from '../core/errors.js';
import { QUEUE_PREFIX } from './jobs.js';

/** How often a worker refreshes its record, ms. */
export const HEARTBEAT_INTERVAL_MS = 5000;
/** How long a record outlives its last refresh, ms: a worker killed with -9 leaves the list after this. */
export const HEARTBEAT_TTL_MS = 3 * HEARTBEAT_INTERVAL_MS;
const KEY_PREFIX = `${QUEUE_PREFIX}:workers:`;

/** A worker as `status` shows it. */
export interface WorkerStatus {
  /** `HOST:PID:RANDOM`, unique per worker process start. */
  id: string;
  host: string;
  pid: number;
  /** The Innerworks base URL it uses when an export names none (origin and path only). */
  baseUrl: string;
  /** Partition jobs it runs at once. */
  concurrency: number;
  /** Partition jobs in hand. */
  active: number;
  /** `paused`: it paused itself after failures of its own (see `pausedReason`) and takes no new jobs. */
  state: 'running' | 'paused';
  /** What failed: the API or the database, named without secrets, and the error. */
  pausedReason?: string;
  /** When it paused itself, epoch ms. */
  pausedSince?: number;
  /** When it checks again whether what failed works, epoch ms. */
  nextProbeAt?: number;
  /** When it last refreshed this record, epoch ms. */
  updatedAt: number;
}

/** Write (or refresh) a worker's record. */
export async function publishHeartbeat(connection: Redis, status: WorkerStatus): Promise<void> {
  const clean: WorkerStatus = { ...status, ...(status.pausedReason === undefined ? {} : { pausedReason: redact(status.pausedReason) }) };
  await connection.set(KEY_PREFIX + status.id, JSON.stringify(clean), 'PX', HEARTBEAT_TTL_MS);
}

/** Remove a worker's record (it closed). */
export async function removeHeartbeat(connection: Redis, id: string): Promise<void> {
  await connection.del(KEY_PREFIX + id);
}

/** Every worker that refreshed its record lately, sorted by id. */
export async function readHeartbeats(connection: Redis): Promise<WorkerStatus[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await connection.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 100);
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await connection.mget(...keys);
  const workers: WorkerStatus[] = [];
  for (const value of values) {
    if (value === null) continue;
    try {
      workers.push(JSON.parse(value) as WorkerStatus);
    } catch {
      // A record that is not ours (or half written by another version): not a worker to show.
    }
  }
  return workers.sort((a, b) => a.id.localeCompare(b.id));
}
