/** Emulator of the Innerworks batched inference results API (seed 000). STUB: being written. */
import type { EmulatorContext, Route } from './types.js';

export interface InnerworksEmulatorOptions {
  /** Records available at start. Default 10 000. */
  records?: number;
  /** Records appended per second while running (cursors stay consistent). Default 0. */
  growPerSecond?: number;
}

export interface InnerworksControl {
  /** Add `n` records after the current last one (their timestamps are at or after now). */
  append(n: number): void;
  /** Records currently stored. */
  readonly size: number;
}

export function innerworksRoutes(_options: InnerworksEmulatorOptions, _context: EmulatorContext): { routes: Route[]; control: InnerworksControl } {
  return { routes: [], control: { append() {}, size: 0 } };
}
