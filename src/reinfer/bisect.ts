/**
 * Isolate the documents a server refuses. When a batch fails with 400/413/422, send each half
 * on its own, recursively, until the refused documents stand alone: one bad document among n
 * costs 2·log₂(n) extra requests, where the vendor's CLI re-sends all n one by one.
 */
import { InvalidRequestError } from '../core/errors.js';

/** Outcome per item, in the order given. */
export type BisectOutcome<T, R> = { item: T; result: R } | { item: T; error: InvalidRequestError };

/** Statuses that say "something in this batch is invalid" (413: the batch is too large). */
const SPLITTABLE = new Set([400, 413, 422]);

export function isSplittable(error: unknown): error is InvalidRequestError {
  return error instanceof InvalidRequestError && SPLITTABLE.has(error.status);
}

/**
 * Send `items`; on a splittable refusal, send the halves one after the other (so a batch never
 * takes more than its one concurrency slot) and recurse. `onSplit` is called per split.
 * Other errors propagate.
 */
export async function sendWithBisection<T, R>(items: T[], send: (items: T[]) => Promise<R[]>, onSplit: () => void): Promise<BisectOutcome<T, R>[]> {
  try {
    const results = await send(items);
    return items.map((item, i) => ({ item, result: results[i] }));
  } catch (error) {
    if (!isSplittable(error)) throw error;
    if (items.length === 1) return [{ item: items[0], error }];
    onSplit();
    const middle = Math.ceil(items.length / 2);
    const left = await sendWithBisection(items.slice(0, middle), send, onSplit);
    const right = await sendWithBisection(items.slice(middle), send, onSplit);
    return left.concat(right);
  }
}
