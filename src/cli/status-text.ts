/**
 * `status` as text: the list of a queue's jobs, and one job partition by partition with its rate,
 * percentage and time left. Plain lines, readable without colour; the caller makes them
 * terminal-safe.
 */
import type { ExportStatus, PartitionStatus, QueuedJob, WorkerStatus } from '../queue/index.js';
import { counted } from '../core/plural.js';
import { afterUntilLine } from './commands/after-until.js';
import { formatCount } from './progress.js';

/** The jobs as a table, newest first (as `listJobs` gives them). */
export function jobListText(jobs: readonly QueuedJob[], queue: string, now: number): string {
  if (jobs.length === 0) return `No exports or predictions in the queue at ${queue}.\n`;
  const rows = jobs.map((job) => [job.id, job.kind, job.state, formatCount(job.records), job.percent === undefined ? '' : `${job.percent.toFixed(1)} %`, `${isoSeconds(job.createdAt)} (${ago(job.createdAt, now)})`]);
  const header = ['ID', 'KIND', 'STATE', 'RECORDS', 'DONE', 'CREATED'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  // Numbers right-aligned, the rest left-aligned; no trailing spaces.
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 3 || i === 4 ? cell.padStart(widths[i]) : i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** One job: its state and totals, its pace, each partition, and the workers serving the queue. */
export function jobText(status: ExportStatus, now: number): string {
  const what = status.kind === 'predict' ? `Predictions of ${status.input}` : 'Export';
  const lines = [`${what} ${status.exportId}: ${status.state}, ${counted(status.records, 'record')} in ${counted(status.pages, 'page')}`, `  ${paceText(status, now)}`, `  ${timesText(status, now)}`];
  // What a completed export's --until left out, as the worker that finished it found.
  const afterEnd = afterUntilLine(status.endTime, status.resultsAfterEnd);
  if (afterEnd) lines.push(`  ${afterEnd.trimEnd()} (when the export finished)`);
  lines.push('');
  for (const p of status.partitions) lines.push(partitionText(p));
  lines.push('', workersLine(status.workers));
  for (const w of status.workers) {
    if (w.state !== 'paused') continue;
    const since = w.pausedSince === undefined ? '' : ` since ${new Date(w.pausedSince).toISOString()}`;
    const next = w.nextProbeAt === undefined ? '' : `; checks again in ${Math.max(0, Math.ceil((w.nextProbeAt - now) / 1000))} s`;
    lines.push(`  ${w.id}  paused${since}: ${w.pausedReason ?? 'no reason given'}${next}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `45.2 % done, 1,234 records/s, about 2 min 10 s left`: what is known of it. */
function paceText(status: ExportStatus, now: number): string {
  const parts: string[] = [];
  parts.push(status.percent === undefined ? 'share done unknown (a worker reports no position)' : `${status.percent.toFixed(1)} % done`);
  if (status.recordsPerSecond !== undefined) parts.push(`${formatRate(status.recordsPerSecond)} records/s`);
  if (status.state === 'completed') parts.push(`took ${formatDuration((status.finishedAt ?? now) - (status.startedAt ?? status.createdAt))}`);
  else if (status.etaMs !== undefined) parts.push(`about ${formatDuration(status.etaMs)} left`);
  else if (status.state === 'failed') parts.push('a partition failed for good: enqueue the same job again to retry it');
  else if (status.startedAt === undefined) parts.push('not started: no worker has taken a partition yet');
  return parts.join(', ');
}

function timesText(status: ExportStatus, now: number): string {
  const parts = [`created ${isoSeconds(status.createdAt)} (${ago(status.createdAt, now)})`];
  if (status.startedAt !== undefined) parts.push(`started ${isoSeconds(status.startedAt)}`);
  if (status.finishedAt !== undefined) parts.push(`${status.state === 'failed' ? 'failed' : 'finished'} ${isoSeconds(status.finishedAt)}`);
  return parts.join(', ');
}

function partitionText(p: PartitionStatus): string {
  const range = p.startByte !== undefined ? `bytes ${p.startByte} .. ${p.endByte}` : `${new Date(p.startTime!).toISOString()} .. ${new Date(p.endTime!).toISOString()}`;
  const percent = p.percent === undefined ? '' : `${p.percent.toFixed(1)} %`;
  const why = p.failedReason ? ` (${p.state === 'failed' ? 'failed' : 'last failure'}: ${p.failedReason})` : '';
  return `  ${String(p.partition).padStart(4)}  ${p.state.padEnd(9)}  ${formatCount(p.records).padStart(12)} ${p.records === 1 ? 'record ' : 'records'}  ${percent.padStart(7)}  ${range}  attempts ${p.attemptsMade}${why}`;
}

function workersLine(workers: readonly WorkerStatus[]): string {
  if (workers.length === 0) return 'Workers: none (no worker reported in the last few seconds)';
  const paused = workers.filter((w) => w.state === 'paused').length;
  return `Workers: ${workers.length} (${workers.length - paused} running, ${paused} paused by themselves)`;
}

/** `45 s`, `3 min 20 s`, `2 h 5 min`, `3 d 4 h`: two units at most. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/** A rate: one decimal below 10 a second (a slow job is not "0 records/s"). */
function formatRate(perSecond: number): string {
  return perSecond < 10 ? perSecond.toFixed(1) : formatCount(perSecond);
}

function ago(time: number, now: number): string {
  return now - time < 1000 ? 'just now' : `${formatDuration(now - time)} ago`;
}

/** `2026-12-02T10:41:05Z`: the second is enough to tell jobs apart by eye. */
function isoSeconds(time: number): string {
  return new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
