/** Emulator of the Reinfer prediction API (seed 002). STUB: being written. */
import type { EmulatorContext, Route } from './types.js';

export interface ReinferEmulatorOptions {}

export interface ReinferControl {}

export function reinferRoutes(_options: ReinferEmulatorOptions, _context: EmulatorContext): { routes: Route[]; control: ReinferControl } {
  return { routes: [], control: {} };
}
