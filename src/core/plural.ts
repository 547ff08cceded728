/** Counts with their noun, singular or plural: "1 page", "2 pages", "1,000 records". */

/**
 * `count` with its thousands grouped (`12,345`) and followed by `noun`, or by `plural` (default
 * noun + "s") unless it is exactly 1. The one helper for every count a person reads: CLI lines
 * and the messages of errors.
 */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  const rounded = Math.round(count);
  return `${rounded.toLocaleString('en-US')} ${rounded === 1 ? noun : plural}`;
}
