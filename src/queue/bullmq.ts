/**
 * BullMQ and ioredis, optional peer dependencies, loaded on first use; and the Redis
 * connections the queue pieces open (BullMQ in ESM wants an IORedis instance per component,
 * with `maxRetriesPerRequest: null` so that a worker waits out a Redis restart instead of failing).
 */
import type * as BullMQ from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { AbortError, ConfigError, ConnectionError, redact, registerSecret } from '../core/errors.js';
import { hideUrlPassword } from '../core/url-password.js';
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

/** The URL as it may be shown: `redis://:…@host:6379`, `?password=…`: never the password (a raw `/` or `@` in it included). */
export function withoutPassword(url: string): string {
  return hideUrlPassword(url, '…');
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

/** A change of a connection's reach to Redis, as {@link watchRedis} reports it. */
export type RedisReach = { state: 'unreachable' } | { state: 'back'; downMs: number };

/**
 * Report when a connection that was up loses Redis, and when it has it again. A running worker
 * waits an outage out (ioredis reconnects with a growing wait, capped at 2 s; commands wait for
 * the reconnect), and this lets it say so instead of going silent.
 */
export function watchRedis(connection: Redis, onChange: (reach: RedisReach) => void): void {
  let downSince: number | undefined;
  connection.on('close', () => {
    if (downSince !== undefined) return;
    downSince = Date.now();
    onChange({ state: 'unreachable' });
  });
  connection.on('ready', () => {
    if (downSince === undefined) return;
    const downMs = Date.now() - downSince;
    downSince = undefined;
    onChange({ state: 'back', downMs });
  });
}

/** Default of the `redisTimeoutMs` options: how long to wait for Redis to answer before giving up, ms. */
export const REDIS_TIMEOUT_MS = 10_000;

/**
 * Wait until Redis answers a PING, at most `timeoutMs`: the connections retry forever
 * (`maxRetriesPerRequest: null`, right for a running worker), so without this a wrong or
 * unreachable URL would hang the first command. A refused connection (ECONNREFUSED: nothing
 * listens there) fails at once instead of after `timeoutMs`: waiting would not change it, and the
 * user should hear about the wrong port or the stopped server now. On failure the connection is
 * disconnected and the error names the URL without its password; `signal` gives up at once
 * (AbortError).
 */
export async function reachRedis(connection: Redis, url: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  let lastError: (Error & { code?: string }) | undefined;
  let refused: ((error: Error & { code?: string }) => void) | undefined;
  const onError = (error: Error & { code?: string }) => {
    lastError = error;
    if (error.code === 'ECONNREFUSED') refused?.(error);
  };
  connection.on('error', onError);
  const ping = connection.ping();
  // Rejects with "Connection is closed" after a disconnect below: handled by the race, or nobody.
  ping.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => {
        const why = lastError ? ` (${lastError.message})` : '';
        reject(new ConnectionError(withoutPassword(url), `Redis did not answer within ${timeoutMs / 1000} s${why}; is it running, and is the URL right?`, { cause: lastError, code: lastError?.code }));
      }, timeoutMs);
      refused = (error) => reject(new ConnectionError(withoutPassword(url), `Redis did not answer: it refused the connection (${error.code}); is it running, and is the URL right?`, { cause: error, code: error.code }));
      onAbort = () => reject(new AbortError(`stopped while connecting to Redis at ${withoutPassword(url)}`, { cause: signal?.reason }));
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      ping.then(
        () => resolve(),
        (error: Error) => reject(new ConnectionError(withoutPassword(url), `Redis refused: ${error.message}`, { cause: error })),
      );
    });
  } catch (error) {
    connection.disconnect();
    throw error;
  } finally {
    clearTimeout(timer);
    connection.off('error', onError);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
