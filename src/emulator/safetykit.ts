/** Emulator of the SafetyKit Data API (seed 001). STUB: being written. */
import type { EmulatorContext, Route } from './types.js';

export interface SafetykitEmulatorOptions {}

export interface SafetykitControl {}

export function safetykitRoutes(_options: SafetykitEmulatorOptions, _context: EmulatorContext): { routes: Route[]; control: SafetykitControl } {
  return { routes: [], control: {} };
}
