/**
 * Isolate the documents a server refuses. When a batch fails with 400/413/422, send each half
 * on its own, recursively, until the refused documents stand alone: one bad document among n
 * costs 2·log₂(n) extra requests, where the vendor's CLI re-sends all n one by one.
 */
import { InvalidRequestError } from '../core/errors.js';

/**
 * A refused item's outcome. Sent items' outcomes are their results as they are: a batch that
 * goes through whole (the common case) costs no object per item. The profile of
 * predictDocuments showed the former `{item, result}` per document among the top entries.
 */
export class Refused {
  constructor(readonly error: InvalidRequestError) {}
}

/** Outcome per item, in the order given: its result, or {@link Refused}. */
export type BisectOutcome<R> = R | Refused;

/** Statuses that say "something in this batch is invalid" (413: the batch is too large). */
const SPLITTABLE = new Set([400, 413, 422]);

function isSplittable(error: unknown): error is InvalidRequestError {
  return error instanceof InvalidRequestError && SPLITTABLE.has(error.status);
}

type Attempt<R> = { results: R[] } | { error: InvalidRequestError };

/**
 * Send `items`; on a splittable refusal, send the halves one after the other (so a batch never
 * takes more than its one concurrency slot) and recurse. `onSplit` is called per split.
 * A refusal of the request itself (an unknown label, a bad `transform_tag`: every part refused
 * alike) is thrown as it came, rather than blamed on every document. Other errors propagate.
 */
export async function sendWithBisection<T, R>(items: T[], send: (items: T[]) => Promise<R[]>, onSplit: () => void): Promise<BisectOutcome<R>[]> {
  const first = await attempt(items, send);
  if ('results' in first) return first.results;
  return bisect(items, first.error, send, onSplit, true);
}

async function bisect<T, R>(
  items: T[],
  error: InvalidRequestError,
  send: (items: T[]) => Promise<R[]>,
  onSplit: () => void,
  topLevel: boolean,
): Promise<BisectOutcome<R>[]> {
  if (items.length === 1) return [new Refused(error)];
  onSplit();
  const middle = Math.ceil(items.length / 2);
  const halves = [items.slice(0, middle), items.slice(middle)];
  const outcomes: Attempt<R>[] = [];
  for (const half of halves) outcomes.push(await attempt(half, send));

  // Both halves refused exactly like the whole batch: check one document alone. If even that is
  // refused alike, the request is at fault, not its documents; splitting on would cost 2n requests.
  if (topLevel && outcomes.every((outcome) => 'error' in outcome && sameRefusal(outcome.error, error)) && halves[0].length > 1) {
    const probe = await attempt(halves[0].slice(0, 1), send);
    if ('error' in probe && sameRefusal(probe.error, error)) throw error;
  }

  const parts: BisectOutcome<R>[][] = [];
  for (const [i, half] of halves.entries()) {
    const outcome = outcomes[i];
    parts.push('results' in outcome ? outcome.results : await bisect(half, outcome.error, send, onSplit, false));
  }
  return parts.flat();
}

async function attempt<T, R>(items: T[], send: (items: T[]) => Promise<R[]>): Promise<Attempt<R>> {
  try {
    return { results: await send(items) };
  } catch (error) {
    if (!isSplittable(error)) throw error;
    return { error };
  }
}

function sameRefusal(a: InvalidRequestError, b: InvalidRequestError): boolean {
  return a.status === b.status && a.serverMessage === b.serverMessage;
}
