/**
 * The one page loop of every resumable run into a {@link Destination}: take the next page from a
 * source, hand its records with the position after them to the destination (which makes both
 * durable together), and only then advance the caller's position. The export reads its pages from
 * an Innerworks cursor (`src/innerworks/export-partition.ts`), `predictInto` from a predict stream
 * over a file (`src/reinfer/predict-into.ts`); neither has a loop of its own. So this is also the
 * one place where the records and pages metrics of every resumable run are counted: once a page,
 * after the destination has it.
 */
import type { JsonLines } from '../core/json-lines.js';
import { ATTR, instruments } from '../core/telemetry.js';
import type { Destination, PartitionPosition } from './destination.js';

/** A page: records and the opaque position after them (undefined: the source is complete). */
export interface SourcePage {
  records: object[];
  checkpoint: string | undefined;
  /**
   * The page's records as JSON lines instead (then `records` is empty), from a source asked for
   * them because the destination takes them (`Destination.writeLines`).
   */
  lines?: JsonLines;
}

/** Where pages come from; `next()` resolves undefined at the end. */
export interface PageSource {
  next(): Promise<SourcePage | undefined>;
}

/** What {@link writePages} reads from where into what. */
export interface PageLoop {
  pages: PageSource;
  destination: Destination;
  partition: number;
  /** Where the partition stands; advanced in place once each page is durable. */
  position: PartitionPosition;
  /** Called after each page is durable, with its record count. */
  written: (count: number) => void | Promise<void>;
}

/**
 * Write every page of `pages` with the position after it. A page without a checkpoint marks the
 * position `done` (nothing more to read). A write is never cut short: a failure (or abort) comes
 * from `pages.next()` or from the destination, with the position where the destination is.
 */
export async function writePages(loop: PageLoop): Promise<void> {
  const { pages, destination, partition, position } = loop;
  for (;;) {
    const page = await pages.next();
    if (!page) break;
    const { checkpoint, records, lines } = page;
    // Drop the page from the source before the awaits below: the next page is parsed
    // meanwhile, and this one should not survive into the old generation (GC time).
    page.records = [];
    page.lines = undefined;
    const count = lines?.length ?? records.length;
    // The position after this page, applied only once the destination has it: a failed write
    // must leave the position (which the caller reports) where the destination still is.
    const next: PartitionPosition = { ...position };
    if (count > 0) {
      next.records += count;
      next.pages++;
    }
    if (checkpoint === undefined) next.done = true;
    else next.checkpoint = checkpoint;
    if (lines) await destination.writeLines!(partition, lines, { ...next });
    else await destination.write(partition, records, { ...next });
    Object.assign(position, next);
    if (count > 0) countPage(count, destination.kind);
    await loop.written(count);
  }
}

/**
 * Add a page (or batch, or upload) of `count` records written to `destination` (a
 * {@link Destination} kind, `stdout`, `safetykit`) to the records and pages metrics. Called once
 * a page, never a record: the cost is two counter adds.
 */
export function countPage(count: number, destination: string): void {
  const attributes = { [ATTR.destination]: destination };
  const { records, pages } = instruments();
  records.add(count, attributes);
  pages.add(1, attributes);
}
