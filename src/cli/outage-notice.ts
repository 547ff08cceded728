/**
 * One line on stderr when an API cannot be reached and the library starts retrying: "API at
 * http://127.0.0.1:9 refused the connection; retrying, attempt 2 of 6", instead of the seconds of
 * silence the retries' backoff takes. Once per outage of an origin: the next line about it comes
 * only after a call to it succeeded again. Fed by the retry diagnostics channel (core/retry.ts),
 * so every stream and client of every command is covered without an option of their own.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ConnectionError, TimeoutError, redact } from '../core/errors.js';
import { RETRY_CHANNEL, type RetryNotice } from '../core/retry.js';
import type { CliIO } from './command.js';
import { terminalSafe } from './terminal-text.js';

/**
 * Print a line at the first retry of each outage (a connection refused, a host not found or not
 * reachable, a request timed out) of the APIs `io`'s command calls. Returns the function that stops listening.
 */
export function reportOutages(io: Pick<CliIO, 'stderr' | 'progressMode'>): () => void {
  const down = new Set<string>();
  const listener = (message: unknown) => {
    const notice = message as RetryNotice;
    if (notice.kind === 'recovered') {
      down.delete(notice.origin);
      return;
    }
    const what = unreachable(notice.error);
    if (what === undefined || down.has(notice.origin)) return;
    down.add(notice.origin);
    // A bar in progress is erased first; it is drawn again at its next update.
    const erase = io.progressMode === 'bar' ? '\r\x1b[2K' : '';
    const line = `API at ${notice.origin} ${what}; retrying, attempt ${notice.retry + 1} of ${notice.maxRetries + 1}`;
    io.stderr.write(`${erase}${terminalSafe(redact(line))}\n`);
  };
  subscribe(RETRY_CHANNEL, listener);
  return () => void unsubscribe(RETRY_CHANNEL, listener);
}

/** What went wrong when the API could not be reached at all, in words; undefined for an answer (an HTTP status). */
function unreachable(error: Error): string | undefined {
  if (error instanceof TimeoutError) return 'did not answer in time';
  if (!(error instanceof ConnectionError)) return undefined;
  // A reset or a closed connection is usually a blip that the next attempt gets over: not an outage.
  if (error.code === 'ECONNREFUSED') return 'refused the connection';
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return `could not be found (${error.code})`;
  if (error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH') return `could not be reached (${error.code})`;
  return undefined;
}
