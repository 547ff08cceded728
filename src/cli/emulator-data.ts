/**
 * What the emulator's Innerworks data covers, in one line: how many results, from when to when
 * and how dense, so that `--since`/`--until` can be chosen inside it.
 */
import type { InnerworksControl } from '../emulator/index.js';
import { counted } from '../core/plural.js';

/** e.g. `Innerworks data: 10,000 results from 2024-01-01T00:00:00Z to 2024-01-01T00:55:33Z 3 results a second`. */
export function innerworksDataLine(innerworks: Pick<InnerworksControl, 'size' | 'timestampOf'>): string {
  const size = innerworks.size;
  if (size === 0) return 'Innerworks data: no results yet';
  const first = innerworks.timestampOf(0);
  const last = innerworks.timestampOf(size - 1);
  return `Innerworks data: ${counted(size, 'result')} from ${isoTime(first)} to ${isoTime(last)}${density(innerworks, size)}`;
}

/** The same for `emulator --json`: `{records, from, to}` (times as ISO 8601; absent when there are no records). */
export function innerworksDataRange(innerworks: Pick<InnerworksControl, 'size' | 'timestampOf'>): { records: number; from?: string; to?: string } {
  const size = innerworks.size;
  return size === 0 ? { records: 0 } : { records: size, from: isoTime(innerworks.timestampOf(0)), to: isoTime(innerworks.timestampOf(size - 1)) };
}

/** Results share a timestamp in groups (ties); the groups are evenly spaced, so two timestamps tell the rate. */
function density(innerworks: Pick<InnerworksControl, 'timestampOf'>, size: number): string {
  let next = 1;
  while (next < size && innerworks.timestampOf(next) === innerworks.timestampOf(0)) next++;
  if (next === size) return '';
  const stepMs = innerworks.timestampOf(next) - innerworks.timestampOf(0);
  return `, ${counted(next, 'result')} ${stepMs === 1000 ? 'a second' : `every ${counted(stepMs, 'millisecond')}`}`;
}

/** ISO 8601 without `.000` when the milliseconds are zero: ready to paste as `--since`. */
function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
