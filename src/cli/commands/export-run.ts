/**
 * What the file and database exports of `inference-streams export` share: the progress line, a
 * run whose interruption says where the position is saved (one "interrupted" line), and the
 * words of the closing summary.
 */
import { AbortError } from '../../core/errors.js';
import { exportInferenceResults, type ExportInferenceResultsOptions, type ExportSummary, type InferenceResultsStats } from '../../innerworks/index.js';
import { markReported, type CliIO } from '../command.js';
import { ProgressLine, formatCount, ratePerSecond } from '../progress.js';
import { counted } from '../../core/plural.js';

/** The export's progress bar on stderr (drawn only when it is a TTY). */
export function exportProgressLine(io: CliIO, stats: () => InferenceResultsStats | undefined): ProgressLine {
  return new ProgressLine(io.stderr, io.progress, () => {
    const s = stats();
    if (!s) return 'export: starting…';
    return `export: ${counted(s.records, 'record')}, ${formatCount(ratePerSecond(s.records, s.elapsedMs))}/s, ${counted(s.pages, 'page')}, ${counted(s.retries, 'retry', 'retries')}`;
  });
}

/**
 * Run a resumable export with a progress bar. Interrupted, it says once that the position is
 * saved in `savedIn` and how to resume, and the error is marked as reported.
 */
export async function runResumableExport(io: CliIO, options: ExportInferenceResultsOptions, savedIn: string): Promise<ExportSummary> {
  let latest: InferenceResultsStats | undefined;
  const progress = exportProgressLine(io, () => latest);
  try {
    const summary = await exportInferenceResults({
      ...options,
      onProgress: (stats) => {
        latest = stats;
        progress.update();
      },
    });
    progress.done();
    return summary;
  } catch (error) {
    progress.clear();
    if (error instanceof AbortError || io.signal.aborted) {
      io.stderr.write(`inference-streams export: interrupted; progress is saved in ${savedIn}. Run the same command again to resume.\n`);
      throw markReported(error instanceof Error ? error : new AbortError('interrupted'));
    }
    throw error;
  }
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
export const retries = (count: number) => (count > 0 ? `, ${counted(count, 'retry', 'retries')}` : '');
