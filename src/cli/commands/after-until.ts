/**
 * "Stopped at --until …; N more results lie after it": what an export bounded by --until left
 * out, said in the summaries of direct exports and of queued ones (`status`, the worker's log).
 */
import type { InferenceResultsOptions } from '../../innerworks/index.js';
import { QUICK_CHECK, resultsAfter, type ResultsAfter } from '../../innerworks/results-after.js';
import { counted } from '../../core/plural.js';
import { formatCount } from '../progress.js';

/**
 * With --until, what the export left out: one request for the page after it (only then, so an
 * unbounded export costs nothing more). Undefined without --until, or when the check fails: the
 * export itself is done, and the summary says nothing rather than something wrong.
 */
export async function checkAfterUntil(options: Pick<InferenceResultsOptions, 'apiKey' | 'baseUrl' | 'endTime' | 'signal'>): Promise<ResultsAfter | undefined> {
  if (options.endTime === undefined || options.signal?.aborted) return undefined;
  try {
    return await resultsAfter({ apiKey: options.apiKey, baseUrl: options.baseUrl, time: Number(options.endTime), signal: options.signal, ...QUICK_CHECK });
  } catch {
    return undefined;
  }
}

/** The summary's line for {@link checkAfterUntil}: "Stopped at --until T; N more results lie after it", or '' when none do. */
export function afterUntilLine(until: number | Date | undefined, after: ResultsAfter | undefined): string {
  if (until === undefined || after === undefined || after.results === 0) return '';
  const count = after.more ? `${formatCount(after.results)} or more results lie` : `${counted(after.results, 'more result lies', 'more results lie')}`;
  return `Stopped at --until ${new Date(until).toISOString()}; ${count} after it\n`;
}
