/**
 * `status --watch`: follow one job until it ends, like `gh run watch`. On a terminal the block is
 * redrawn in place every second; in a pipe or a log a new block (or, with `--json`, a JSON line)
 * is written only when something changed, so that a log holds the job's history without a line
 * a second. Exit code 0 once the job completed, 1 once it failed; Ctrl-C stops watching (the job
 * goes on).
 */
import { setTimeout as sleep } from 'node:timers/promises';
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
  const columns = (io.stdout as { isTTY?: boolean; columns?: number }).isTTY === true && !json ? ((io.stdout as { columns?: number }).columns ?? 80) : undefined;
  let drawnLines = 0;
  let lastChange: string | undefined;
  let status: ExportStatus | undefined;
  for (;;) {
    status = await exportStatus({ queue, exportId });
    const now = Date.now();
    const ended = status.state === 'completed' || status.state === 'failed';
    const change = changeOf(status);
    if (json) {
      if (change !== lastChange) writeJsonSummary(io, 'status', { ...status, elapsedMs: now - started });
    } else if (columns !== undefined) {
      // Redrawn every time: the rate, the time left and "… ago" move even when the records do not.
      const footer = ended ? [] : ['', `Watching: read again every ${WATCH_INTERVAL_MS / 1000} s; Ctrl-C stops watching (the job goes on).`];
      const lines = [...terminalSafe(jobText(status, now)).replace(/\n$/, '').split('\n'), ...footer].map((line) => line.slice(0, Math.max(20, columns - 1)));
      // Back to the start of the previous block, erase it and what follows, draw the new one.
      io.stdout.write(`${drawnLines > 0 ? `\x1b[${drawnLines}F\x1b[J` : ''}${lines.join('\n')}\n`);
      drawnLines = lines.length;
    } else if (change !== lastChange) {
      io.stdout.write(`${lastChange === undefined ? '' : '\n'}-- ${new Date(now).toISOString()} --\n${terminalSafe(jobText(status, now))}`);
    }
    lastChange = change;
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
