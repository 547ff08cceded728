/**
 * A worker's own metrics (see src/core/telemetry.ts): its jobs running now, its jobs finished by
 * outcome, and whether it paused itself. A no-op until a MeterProvider is registered (the
 * worker's `metricsPort` registers one).
 */
import { ATTR, instruments } from '../core/telemetry.js';

/** The kinds of partition job a worker runs. */
export type JobKind = 'export' | 'predict';

/**
 * How a job's run on this worker ended: `completed`; `failed` (the attempt failed: BullMQ may
 * retry it); `handed_back` (back to the queue without using an attempt: an outage, or the worker
 * stopping).
 */
export type JobOutcome = 'completed' | 'failed' | 'handed_back';

/** A job of `kind` started (`delta` 1) or ended (-1) on this worker. */
export function countJobActive(kind: JobKind, delta: 1 | -1): void {
  instruments().workerJobsActive.add(delta, { [ATTR.jobKind]: kind });
}

/** A job's run on this worker ended with `outcome`. */
export function countJobFinished(kind: JobKind, outcome: JobOutcome): void {
  instruments().workerJobs.add(1, { [ATTR.jobKind]: kind, [ATTR.jobOutcome]: outcome });
}

/** 1 while the worker is paused by itself, 0 while it takes jobs. */
export function setPausedGauge(paused: boolean): void {
  instruments().workerPaused.record(paused ? 1 : 0);
}
