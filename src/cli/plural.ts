/** Counts with their noun, singular or plural: "1 page", "2 pages", "1,000 records". */
import { formatCount } from './progress.js';

/** `count` formatted (`12,345`) and followed by `noun`, or by `plural` (default noun + "s") unless it is exactly 1. */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${formatCount(count)} ${Math.round(count) === 1 ? noun : plural}`;
}
