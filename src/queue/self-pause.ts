/**
 * A worker that fails for its own reasons (see own-failure.ts) several times in a row stops
 * taking jobs instead of handing every waiting job the same failure: it pauses itself, probes
 * what failed with a growing wait (capped), and resumes once the probe succeeds. Jobs in hand
 * are left to finish or fail on their own; their own failures are handed back, not charged.
 *
 * Only a failure of the worker's own settings pauses it (see `Outage.own`). A pause on its API
 * (its base URL and key, which no export can change) lasts until a probe succeeds: such a
 * worker would fail every job. A pause on its database password probes a database that a job
 * named, which may never answer (a wrong user): that pause ends after `maxPauseMs` at the latest,
 * and the job, handed back once more, is charged when its hand-backs are used up (hand-back.ts).
 * So no job waits for ever on a paused worker.
 */
import { redact } from '../core/errors.js';
import { sleep } from '../core/retry.js';
import type { Outage } from './own-failure.js';

/** Own failures in a row after which a worker pauses itself. */
export const PAUSE_AFTER_OWN_FAILURES = 3;
/** First wait before probing, ms; doubled after each failed probe up to {@link MAX_PROBE_DELAY_MS}. */
export const FIRST_PROBE_DELAY_MS = 1000;
/** Longest wait between probes, ms: an outage over is noticed within this. */
export const MAX_PROBE_DELAY_MS = 5000;

/** Where a worker stands. */
export type WorkerHealth =
  | { state: 'running' }
  | {
      state: 'paused';
      /** What failed and why (no secrets). */
      reason: string;
      /** When it paused itself, epoch ms. */
      since: number;
      /** When it probes again, epoch ms. */
      nextProbeAt: number;
      /** Why the last probe failed, once one has. */
      lastProbeError?: string;
    };

export interface SelfPauseOptions {
  /** Stop taking new jobs (jobs in hand go on). */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Resolves when what failed works again, throws while it does not. */
  probe(outage: Outage, signal: AbortSignal): Promise<void>;
  /** Told when the worker pauses, after each failed probe, and when it resumes (with the health before). */
  onChange(health: WorkerHealth, previous: WorkerHealth): void;
  /** Longest pause for `outage`, ms; undefined: until a probe succeeds. */
  maxPauseMs(outage: Outage): number | undefined;
  /** Ends the probing (the worker is closing). */
  signal: AbortSignal;
}

export class SelfPause {
  readonly #options: SelfPauseOptions;
  #streak = 0;
  #health: WorkerHealth = { state: 'running' };

  constructor(options: SelfPauseOptions) {
    this.#options = options;
  }

  get health(): WorkerHealth {
    return this.#health;
  }

  /** Something worked (a page committed, a job done): the streak of own failures is over. */
  succeeded(): void {
    if (this.#health.state === 'running') this.#streak = 0;
  }

  /** An own failure; the one that completes a streak pauses the worker (resolves once it stopped fetching). */
  async failed(outage: Outage): Promise<void> {
    this.#streak++;
    if (this.#health.state === 'paused' || this.#streak < PAUSE_AFTER_OWN_FAILURES || this.#options.signal.aborted) return;
    const now = Date.now();
    const previous = this.#health;
    this.#health = { state: 'paused', reason: outage.reason, since: now, nextProbeAt: now + FIRST_PROBE_DELAY_MS };
    await this.#options.pause();
    this.#options.onChange(this.#health, previous);
    void this.#probeUntilBack(outage);
  }

  async #probeUntilBack(outage: Outage): Promise<void> {
    const { signal } = this.#options;
    const maxPauseMs = this.#options.maxPauseMs(outage);
    const until = maxPauseMs === undefined ? Infinity : Date.now() + maxPauseMs;
    let delay = FIRST_PROBE_DELAY_MS;
    for (;;) {
      try {
        await sleep(delay, signal);
        await this.#options.probe(outage, signal);
        break;
      } catch (error) {
        if (signal.aborted || this.#health.state !== 'paused') return;
        // Bounded: take jobs again; their hand-back cap decides whether the failure is theirs.
        if (Date.now() + delay >= until) break;
        delay = Math.min(delay * 2, MAX_PROBE_DELAY_MS);
        const previous = this.#health;
        this.#health = { ...previous, nextProbeAt: Date.now() + delay, lastProbeError: redact(error instanceof Error ? error.message : String(error)) };
        this.#options.onChange(this.#health, previous);
      }
    }
    // Closing: a worker being closed must not start fetching jobs again.
    if (signal.aborted) return;
    const previous = this.#health;
    this.#health = { state: 'running' };
    this.#streak = 0;
    await this.#options.resume();
    this.#options.onChange(this.#health, previous);
  }
}
