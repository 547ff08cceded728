/**
 * `export --out -`: Innerworks results to stdout, exactly once across interruptions. Records are
 * written a whole page at a time, and a page counts (with its checkpoint) only once stdout has
 * taken all of it. On Ctrl-C or SIGTERM the page in hand is finished and flushed, nothing more is
 * read, and the count and checkpoint printed are those of the last record written: the printed
 * command then yields exactly the rest.
 */
import { AbortError } from '../../core/errors.js';
import { countPage } from '../../destinations/page-loop.js';
import { inferenceResults, type InferenceResult, type InferenceResultsOptions, type InferenceResultsStats, type PageBoundary } from '../../innerworks/index.js';
import { markReported, type CliIO } from '../command.js';
import { formatCount } from '../progress.js';

export interface StdoutExportHooks {
  /** The shell command that continues after `checkpoint`. */
  resumeCommand(checkpoint: string): string;
  onProgress(stats: InferenceResultsStats): void;
  /** Called before a message goes to stderr (to clear a progress bar). */
  beforeMessage(): void;
}

export interface StdoutExportSummary extends InferenceResultsStats {
  /** The checkpoint after the last record written, if any. */
  checkpoint: string | undefined;
}

export async function exportToStdout(options: InferenceResultsOptions, io: CliIO, hooks: StdoutExportHooks): Promise<StdoutExportSummary> {
  // The caller's signal is not handed to the stream: an abort would destroy it with records of
  // the current page still unwritten. This loop decides where to stop instead.
  const stream = inferenceResults({ ...options, signal: undefined });
  const boundaries: PageBoundary[] = [];
  stream.on('page', (boundary) => boundaries.push(boundary));
  stream.on('progress', hooks.onProgress);
  const partitioned = options.partitions !== undefined && options.partitions > 1;
  const position = { records: 0, checkpoint: options.checkpoint };
  const records = stream[Symbol.asyncIterator]();
  let page = '';
  let taken = 0;
  // A page cut at --until was the last: the stream ends after it without another request.
  let lastPageWritten = false;
  try {
    for (;;) {
      // Between pages (all taken is written) an interruption stops at once; inside a page the
      // rest of it is already in memory, so it is finished first.
      const betweenPages = taken === position.records && !lastPageWritten;
      const next = betweenPages ? await nextOrStop(records, io.signal) : await records.next();
      if (next === 'stopped') break;
      if (next.done) return { ...stream.stats, records: position.records, checkpoint: position.checkpoint };
      page += `${JSON.stringify(next.value satisfies InferenceResult)}\n`;
      taken++;
      const boundary = boundaries[0];
      if (boundary === undefined || taken < boundary.records) continue;
      boundaries.shift();
      await writeOut(io, page);
      page = '';
      if (taken > position.records) countPage(taken - position.records, 'stdout');
      position.records = taken;
      position.checkpoint = boundary.checkpoint;
      lastPageWritten = boundary.checkpoint === undefined && !partitioned;
    }
  } catch (error) {
    hooks.beforeMessage();
    io.stderr.write(`inference-streams export: failed after ${formatCount(position.records)} records written to stdout${continuation(position.checkpoint, partitioned, hooks)}\n`);
    throw error;
  } finally {
    // Stop the page download in flight (if any); what was written stays written.
    stream.destroy();
  }
  hooks.beforeMessage();
  io.stderr.write(`inference-streams export: interrupted after ${formatCount(position.records)} records written to stdout${continuation(position.checkpoint, partitioned, hooks)}\n`);
  throw markReported(new AbortError('interrupted', { cause: io.signal.reason }));
}

function continuation(checkpoint: string | undefined, partitioned: boolean, hooks: StdoutExportHooks): string {
  if (partitioned) return '; a partitioned export to stdout cannot be continued (use --out FILE to make it resumable)';
  return checkpoint === undefined ? '' : `; to continue: ${hooks.resumeCommand(checkpoint)}`;
}

/** The next record, or 'stopped' when the signal fires first (or already has). */
async function nextOrStop<T>(iterator: AsyncIterator<T>, signal: AbortSignal): Promise<IteratorResult<T> | 'stopped'> {
  if (signal.aborted) return 'stopped';
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<'stopped'>((resolve) => {
    onAbort = () => resolve('stopped');
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([iterator.next(), stopped]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

/** Write and wait until stdout has taken the text (handed to the OS or its own queue flushed). */
function writeOut(io: CliIO, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    io.stdout.write(text, (error) => (error ? reject(error) : resolve()));
  });
}
