/**
 * BullMQ and ioredis, optional peer dependencies, loaded on first use; and the Redis
 * connections the queue pieces open (BullMQ in ESM wants an IORedis instance per component,
 * with `maxRetriesPerRequest: null` so that a worker waits out a Redis restart instead of failing).
 */
import type * as BullMQ from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { ConfigError, redact, registerSecret } from '../core/errors.js';
import { importOptional } from '../destinations/optional.js';

export type BullmqModule = typeof BullMQ;

export interface QueueLibraries {
  bullmq: BullmqModule;
  Redis: new (url: string, options: RedisOptions) => Redis;
}

let loaded: Promise<QueueLibraries> | undefined;

/** `bullmq` and `ioredis`, or a ConfigError with the `npm install` command when they are missing. */
export function loadQueueLibraries(): Promise<QueueLibraries> {
  loaded ??= importOptional('bullmq ioredis', 'queue', 'the scale-out export (BullMQ on Redis)', async () => {
    const bullmq = await import('bullmq');
    const ioredis = await import('ioredis');
    return { bullmq, Redis: ioredis.Redis as unknown as QueueLibraries['Redis'] };
  });
  return loaded.catch((error: unknown) => {
    loaded = undefined;
    throw error;
  });
}

/** Check a `redis://` / `rediss://` URL (before any connection); the password is never shown. */
export function checkRedisUrl(url: unknown, option = 'queue'): string {
  if (typeof url !== 'string' || url.length === 0) throw new ConfigError(option, 'is required: a redis://HOST:PORT URL');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(option, 'must be a redis://HOST:PORT URL', redact(withoutPassword(url)));
  }
  // Redacted from every message from now on (a Redis error may quote the URL or the AUTH command).
  registerSecret(parsed.password);
  registerSecret(safeDecode(parsed.password));
  registerSecret(parsed.searchParams.get('password') ?? undefined);
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new ConfigError(option, 'must be a redis:// or rediss:// URL', withoutPassword(url));
  return url;
}

/** The URL as it may be shown: `redis://:…@host:6379`, `?password=…`: never the password. */
export function withoutPassword(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:…@').replace(/([?&]password=)[^&#]*/gi, '$1…');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * A new connection to `url`, for Queues, Workers and FlowProducers. BullMQ does not close a
 * connection it was given: the caller must `disconnect()` it after closing them, or a library
 * user's process would keep a socket open for every call.
 */
export function connect(libraries: QueueLibraries, url: string): Redis {
  const connection = new libraries.Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
  // A connection problem is reported by the command waiting on Redis; without a listener ioredis
  // would print every reconnect attempt as an unhandled 'error' event.
  connection.on('error', () => undefined);
  return connection;
}
