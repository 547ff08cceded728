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

/**
 * Names people type for an option that has another name here (`--output` is `--out`). Each is
 * suggested only where its option exists, and typos of it count too (`--ouput` → `--out`).
 */
export const OPTION_SYNONYMS: Readonly<Record<string, string>> = {
  output: 'out',
  'output-file': 'out',
  outfile: 'out',
  input: 'in',
  'input-file': 'in',
  infile: 'in',
  from: 'since',
  start: 'since',
  'start-time': 'since',
  end: 'until',
  'end-time': 'until',
  'page-size': 'batch-size',
  'model-version': 'version',
};

/** The option a mistyped `--typed` most likely meant, among `options` and their synonyms. */
export function closestOption(typed: string, options: readonly string[]): string | undefined {
  const known = new Set(options);
  const synonyms = Object.entries(OPTION_SYNONYMS).filter(([synonym, option]) => known.has(option) && !known.has(synonym));
  const guess = closest(typed, [...options, ...synonyms.map(([synonym]) => synonym)]);
  return guess === undefined ? undefined : known.has(guess) ? guess : OPTION_SYNONYMS[guess];
}
