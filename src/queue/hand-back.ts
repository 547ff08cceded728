/**
 * How often a job may be handed back for a failure that is not its own before that failure is
 * charged to it after all. Without a cap, a job whose own settings cannot work (a database host
 * with a typo, a page that times out every time) would go round the workers for ever, never
 * failing, and the export would wait for ever. The count travels with the job (in its data), so
 * it adds up over every worker that tried.
 */
import type { PartitionJobData } from './jobs.js';

/** Hand-backs of one job after which a further failure of the same kind uses an attempt. */
export const DEFAULT_MAX_HAND_BACKS = 10;
/** Time since a job's first hand-back after which a further one uses an attempt, ms (10 minutes). */
export const DEFAULT_HAND_BACK_WINDOW_MS = 600_000;
/** First wait of a handed-back job, ms; doubled with each hand-back of the same job up to {@link MAX_HAND_BACK_DELAY_MS}. */
const FIRST_HAND_BACK_DELAY_MS = 1000;
/**
 * Longest wait of a handed-back job, ms. With the default cap of 10 the waits add up to about
 * two minutes: a database failover of 30 to 60 s is waited out without using an attempt.
 */
const MAX_HAND_BACK_DELAY_MS = 15_000;

/** The limits of {@link chargeAfterHandBacks}. */
export interface HandBackLimits {
  maxHandBacks: number;
  windowMs: number;
}

/** How long a job handed back for the `handBacks`-th time waits before any worker may take it, ms. */
export function handBackDelayMs(handBacks: number): number {
  return Math.min(FIRST_HAND_BACK_DELAY_MS * 2 ** Math.max(0, handBacks - 1), MAX_HAND_BACK_DELAY_MS);
}

/**
 * Why the job must now bear the failure (its hand-backs are used up), or undefined while it may
 * be handed back again.
 */
export function chargeAfterHandBacks(data: Pick<PartitionJobData, 'handBacks' | 'firstHandBackAt'>, now: number, limits: HandBackLimits): string | undefined {
  const handBacks = data.handBacks ?? 0;
  if (handBacks >= limits.maxHandBacks) return `handed back ${handBacks} time${handBacks === 1 ? '' : 's'} already without success, so this failure uses an attempt`;
  if (data.firstHandBackAt !== undefined && now - data.firstHandBackAt >= limits.windowMs) {
    return `handed back for ${Math.round((now - data.firstHandBackAt) / 1000)} s already without success, so this failure uses an attempt`;
  }
  return undefined;
}
