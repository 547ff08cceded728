/**
 * `status --watch`: follow one job until it ends, like `gh run watch`. On a terminal the block is
 * redrawn in place every second; in a pipe or a log a new block (or, with `--json`, a JSON line)
 * is written only when something changed, so that a log holds the job's history without a line
 * a second. Exit code 0 once the job completed, 1 once it failed; Ctrl-C stops watching (the job
 * goes on).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionError, redact } from '../core/errors.js';
import { withoutPassword } from '../queue/bullmq.js';
import { exportStatus, type ExportStatus } from '../queue/index.js';
import { EXIT, interruptedExitCode, writeJsonSummary, type CliIO } from './command.js';
import { jobText } from './status-text.js';
import { terminalSafe } from './terminal-text.js';

/** How often the job is read again, ms. */
export const WATCH_INTERVAL_MS = 1000;

export interface WatchRequest {
  queue: string;
  exportId: string;
  json: boolean;
  io: CliIO;
}

export async function watchStatus({ queue, exportId, json, io }: WatchRequest): Promise<number> {
  const started = Date.now();
  const terminal = io.stdout as { isTTY?: boolean; columns?: number; rows?: number };
  const tty = terminal.isTTY === true && !json;
  let drawnLines = 0;
  let lastChange: string | undefined;
  let status: ExportStatus | undefined;
  let redisAway = false;
  for (;;) {
    try {
      status = await exportStatus({ queue, exportId });
      if (redisAway) io.stderr.write(`inference-streams status: Redis at ${withoutPassword(queue)} answers again.\n`);
      redisAway = false;
    } catch (error) {
      // A Redis restart during a long watch is not the job's end: said once, then read again.
      // Before the first answer it is an error like any other (a wrong URL, say).
      if (status === undefined || !(error instanceof ConnectionError)) throw error;
      const why = typeof error.code === 'string' ? error.code : redact(error.message);
      if (!redisAway) io.stderr.write(`inference-streams status: Redis at ${withoutPassword(queue)} went away (${why}); still watching, reading again every ${WATCH_INTERVAL_MS / 1000} s.\n`);
      redisAway = true;
    }
    const now = Date.now();
    const ended = !redisAway && (status.state === 'completed' || status.state === 'failed');
    const change = changeOf(status);
    if (redisAway) {
      // Nothing new to show.
    } else if (json) {
      if (change !== lastChange) writeJsonSummary(io, 'status', { ...status, elapsedMs: now - started });
    } else if (tty) {
      // Redrawn every time: the rate, the time left and "… ago" move even when the records do not.
      const footer = ended ? [] : ['', `Watching: read again every ${WATCH_INTERVAL_MS / 1000} s; Ctrl-C stops watching (the job goes on).`];
      const lines = fit([...terminalSafe(jobText(status, now)).replace(/\n$/, '').split('\n'), ...footer], terminal.columns ?? 80, terminal.rows);
      // Back to the start of the previous block, erase it and what follows, draw the new one.
      io.stdout.write(`${drawnLines > 0 ? `\x1b[${drawnLines}F\x1b[J` : ''}${lines.join('\n')}\n`);
      drawnLines = lines.length;
    } else if (change !== lastChange) {
      io.stdout.write(`${lastChange === undefined ? '' : '\n'}-- ${new Date(now).toISOString()} --\n${terminalSafe(jobText(status, now))}`);
    }
    if (!redisAway) lastChange = change;
    if (ended) return status.state === 'completed' ? EXIT.ok : EXIT.failure;
    try {
      await sleep(WATCH_INTERVAL_MS, undefined, { signal: io.signal });
    } catch {
      io.stderr.write(`inference-streams status: stopped watching; ${exportId} goes on (${status.state}, ${status.records} records).\n`);
      return interruptedExitCode(io);
    }
  }
}

/**
 * The block cut to the terminal: no line wraps (a wrapped line would throw off the count of lines
 * to go back over), and no more lines than the screen has (the cursor cannot go back above it).
 */
function fit(lines: string[], columns: number, rows: number | undefined): string[] {
  const narrow = lines.map((line) => line.slice(0, Math.max(20, columns - 1)));
  if (rows === undefined || rows < 4 || narrow.length < rows) return narrow;
  const kept = narrow.slice(0, rows - 2);
  return [...kept, `… ${narrow.length - kept.length} more lines: the terminal is too short (status without --watch prints them all)`.slice(0, Math.max(20, columns - 1))];
}

/**
 * What a reader of a log would call a change: states, records, attempts, failure reasons and the
 * workers' states, not the rate or the time left (they move every second).
 */
function changeOf(status: ExportStatus): string {
  return JSON.stringify([
    status.state,
    status.records,
    status.pages,
    status.partitions.map((p) => [p.state, p.records, p.attemptsMade, p.failedReason ?? null]),
    status.workers.map((w) => [w.id, w.state, w.pausedReason ?? null]),
  ]);
}
