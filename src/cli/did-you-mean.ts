/** "did you mean --batch-size?": the closest known name to a mistyped one, by edit distance. */

/** Levenshtein distance between `a` and `b` (insertions, deletions and substitutions cost 1). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The candidate closest to `typed`, or undefined when none is close enough to be a typo: at most
 * a third of the longer name differs (so `--batchsize` finds `--batch-size`, `--x` finds nothing).
 */
export function closest(typed: string, candidates: Iterable<string>): string | undefined {
  const plain = (name: string) => name.toLowerCase().replace(/[-_]/g, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    // Dashes and case are the commonest slips: "batchsize", "batch_size", "Batch-Size".
    const distance = plain(candidate) === plain(typed) ? 0 : editDistance(typed.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(1, Math.floor(Math.max(typed.length, best.length) / 3)) ? best : undefined;
}
