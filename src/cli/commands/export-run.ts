/**
 * What the file and database exports of `inference-streams export` share: the progress, a run
 * that says where it resumes from and, interrupted, how many records are saved and the command
 * that resumes (one "interrupted" line), and the words of the closing summary.
 */
import { AbortError } from '../../core/errors.js';
import { exportInferenceResults, type ExportInferenceResultsOptions, type ExportStanding, type ExportSummary, type InferenceResultsStats } from '../../innerworks/index.js';
import { commandHint, type CopyableCommand } from '../command-line.js';
import { markReported, type CliIO } from '../command.js';
import { formatCount, ratePerSecond, recordsText, startProgress, type Progress } from '../progress.js';
import { counted } from '../../core/plural.js';

/** The export's progress on stderr (see `--progress`): records (the total when resumed), rate, the position's time. */
export function exportProgressLine(io: CliIO, stats: () => InferenceResultsStats | undefined, standing: () => ExportStanding | undefined = () => undefined): Progress {
  return startProgress(io, 'export', () => {
    const s = stats();
    const where = standing();
    const total = where?.records ?? s?.records ?? 0;
    const thisRun = s?.records ?? 0;
    const resumed = where?.resumed === true;
    const position = where ? positionOf(where) : undefined;
    if (!s) return { text: resumed ? `export: resuming at ${formatCount(total)} records…` : 'export: starting…', records: total, recordsThisRun: 0, position };
    const rate = ratePerSecond(s.records, s.elapsedMs);
    const at = position === undefined ? '' : `, at ${position}`;
    return {
      text: `export: ${recordsText(total, thisRun, resumed)}, ${formatCount(rate)}/s${at}, ${counted(s.pages, 'page')}, ${counted(s.retries, 'retry', 'retries')}`,
      records: total,
      recordsThisRun: thisRun,
      ratePerSecond: rate,
      position,
      retries: s.retries,
    };
  });
}

/**
 * Where an export stands, in words: the time of its checkpoint (one partition), or how many
 * partitions are done.
 */
function positionOf(standing: ExportStanding): string | undefined {
  const { positions } = standing;
  if (positions.length === 0) return undefined;
  if (positions.length > 1) return `${positions.filter((position) => position.done).length} of ${positions.length} partitions done`;
  const [only] = positions;
  if (only.done) return 'the end of the range';
  const time = checkpointTime(only.checkpoint);
  return time === undefined ? undefined : new Date(time).toISOString();
}

/**
 * The time of the last record before `checkpoint`, for display only: Innerworks checkpoints are
 * base64 JSON whose `state` starts with the time (API-NOTES); an opaque one gives undefined.
 */
export function checkpointTime(checkpoint: string | undefined): number | undefined {
  if (checkpoint === undefined) return undefined;
  try {
    const state: unknown = (JSON.parse(Buffer.from(checkpoint, 'base64').toString('utf8')) as { state?: unknown }).state;
    const time = Array.isArray(state) ? state[0] : undefined;
    return typeof time === 'number' && Number.isFinite(time) && Math.abs(time) < 8.64e15 ? time : undefined;
  } catch {
    return undefined;
  }
}

/** Where a resumable export keeps its records and positions, in words, and the command that resumes it. */
export interface ExportPlace {
  /** Where the positions are saved: the state file, or the database's checkpoints table. */
  savedIn: string;
  /** What a resumed run continues, e.g. the state file, or `table T of postgres://…`. */
  resumeFrom: string;
  /** Said after "Resuming from …", e.g. ` (delete it to start over)`. */
  startOver: string;
  /** The command that resumes: this run's own, copyable. */
  command: CopyableCommand;
}

/**
 * Run a resumable export with progress. A resumed run says so at the start ("Resuming from …"),
 * with the records earlier runs saved. Interrupted, it says once how many records are saved, where
 * the position is and the command that resumes, and the error is marked as reported.
 */
export async function runResumableExport(io: CliIO, options: ExportInferenceResultsOptions, place: ExportPlace): Promise<ExportSummary> {
  let latest: InferenceResultsStats | undefined;
  let standing: ExportStanding | undefined;
  let earlier = 0;
  const progress = exportProgressLine(io, () => latest, () => standing);
  try {
    const summary = await exportInferenceResults({
      ...options,
      onStart: (start) => {
        standing = start;
        earlier = start.records;
        if (!start.resumed) return;
        progress.clear();
        io.stderr.write(`Resuming from ${place.resumeFrom}: ${formatCount(start.records)} records saved by earlier runs${place.startOver}\n`);
      },
      onProgress: (stats, now) => {
        latest = stats;
        standing = now;
        progress.update();
      },
    });
    progress.done();
    return summary;
  } catch (error) {
    progress.clear();
    if (error instanceof AbortError || io.signal.aborted) {
      // The positions are advanced in place once the destination has a page: what is saved now.
      const total = standing?.positions.reduce((sum, position) => sum + position.records, 0);
      const saved = standing === undefined || total === undefined ? ' before its first page (nothing new saved)' : ` with ${recordsText(total, total - earlier, standing.resumed)} saved`;
      io.stderr.write(`inference-streams export: interrupted${saved}; progress is saved in ${place.savedIn}. Run the same command again to resume: ${commandHint(place.command)}\n`);
      throw markReported(error instanceof Error ? error : new AbortError('interrupted'));
    }
    throw error;
  }
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
export const retries = (count: number) => (count > 0 ? `, ${counted(count, 'retry', 'retries')}` : '');
