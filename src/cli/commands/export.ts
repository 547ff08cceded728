/** `inference-streams export`: Innerworks inference results to a JSONL file (resumable) or stdout. */
import { access } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { AbortError } from '../../core/errors.js';
import { stringifyJsonl } from '../../core/jsonl.js';
import { exportInferenceResults, inferenceResults, type ExportSummary, type InferenceResultsOptions, type InferenceResultsStats } from '../../innerworks/index.js';
import { COMMON_HELP, EXIT, UsageError, optionOrEnv, parseIntegerFlag, parseTimeFlag, type CliCommand, type CliIO, type OptionValues } from '../command.js';
import { ProgressLine, formatBytes, formatCount, ratePerSecond } from '../progress.js';

export const command: CliCommand = {
  name: 'export',
  summary: 'Export Innerworks inference results to JSONL (resumable, exactly once)',
  help: `Usage: inference-streams export --out FILE|- [options]

Reads every Innerworks inference result (oldest first) and writes one JSON object per line.
Writing to a FILE is exactly once: after each page the file is fsynced and the position saved
in FILE.state.json; running the same command again resumes from there (after a crash, Ctrl-C
or kill), and once finished picks up only newer results.

Options:
  --out FILE|-            JSONL file to write, or - for stdout (required)
  --since ISO|MS          first result time, ISO 8601 or epoch ms (default: the beginning)
  --until ISO|MS          stop before this time (default: the end of the data;
                          with --partitions, now)
  --batch-size N          results per request, 1..5000 (default 1000)
  --partitions K          K parallel cursors over [since, until), 1..64 (default 1; needs --since)
  --split                 with --partitions and a FILE: keep K part files FILE.part-i-of-K
  --follow                after the end, keep polling for new results until Ctrl-C
  --poll-interval-ms MS   wait between polls with --follow (default 5000)
  --state FILE            resume state file (default: the --out file + .state.json)
  --base-url URL          API base URL (env INNERWORKS_BASE_URL; default https://api.prod.innerworks.me)

Environment:
  INNERWORKS_API_KEY      API key sent as x-api-key (required)
  INNERWORKS_BASE_URL     API base URL

${COMMON_HELP}

Examples:
  inference-streams export --out results.jsonl --since 2024-01-01
  inference-streams export --out results.jsonl --since 2024-01-01 --until 2024-02-01 --partitions 4
  inference-streams export --out - --batch-size 5000 | jq .result.geolocation.vpnIsEnabled
  inference-streams export --emulator --out demo.jsonl --json
`,
  options: {
    out: { type: 'string', short: 'o' },
    since: { type: 'string' },
    until: { type: 'string' },
    'batch-size': { type: 'string' },
    partitions: { type: 'string' },
    split: { type: 'boolean' },
    follow: { type: 'boolean' },
    'poll-interval-ms': { type: 'string' },
    state: { type: 'string' },
    'base-url': { type: 'string' },
  },
  run: runExport,
};

async function runExport(values: OptionValues, positionals: string[], io: CliIO): Promise<number> {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const out = values.out;
  if (typeof out !== 'string' || out.length === 0) throw new UsageError('--out FILE (or --out - for stdout) is required');
  const apiKey = io.env.INNERWORKS_API_KEY;
  if (!apiKey) throw new UsageError('set INNERWORKS_API_KEY to your API key (or add --emulator to try a local emulator)');
  const partitions = parseIntegerFlag('partitions', values.partitions as string | undefined, 1, 64);
  const options: InferenceResultsOptions = {
    apiKey,
    baseUrl: optionOrEnv(values, 'base-url', io.env, 'INNERWORKS_BASE_URL'),
    startTime: parseTimeFlag('since', values.since as string | undefined),
    endTime: parseTimeFlag('until', values.until as string | undefined),
    batchSize: parseIntegerFlag('batch-size', values['batch-size'] as string | undefined, 1, 5000),
    partitions,
    follow: values.follow === true ? true : undefined,
    pollIntervalMs: parseIntegerFlag('poll-interval-ms', values['poll-interval-ms'] as string | undefined, 1, 86_400_000),
    signal: io.signal,
  };
  if (values.split === true && !(partitions && partitions > 1)) throw new UsageError('--split needs --partitions K (K > 1)');
  if (out === '-') {
    if (values.state !== undefined || values.split === true) throw new UsageError('--state and --split need --out FILE (stdout cannot be resumed)');
    return toStdout(options, io);
  }
  return toFile(out, typeof values.state === 'string' ? values.state : undefined, values.split === true, values.json === true, options, io);
}

async function toStdout(options: InferenceResultsOptions, io: CliIO): Promise<number> {
  const stream = inferenceResults(options);
  const progress = progressLine(io, () => stream.stats);
  stream.on('progress', () => progress.update());
  try {
    // end: false: stdout belongs to the process (and to the caller in tests), not to us.
    await pipeline(stream, stringifyJsonl(), io.stdout, { end: false });
  } catch (error) {
    progress.clear();
    if (io.signal.aborted) {
      io.stderr.write(`inference-streams export: interrupted after ${formatCount(stream.stats.records)} records${stream.checkpoint ? `; to continue, use inferenceResults({checkpoint: '${stream.checkpoint}'})` : ''}\n`);
      throw new AbortError('interrupted', { cause: error });
    }
    throw error;
  }
  progress.done();
  const stats = stream.stats;
  io.stderr.write(`Exported ${formatCount(stats.records)} records (${formatCount(stats.pages)} pages, ${formatBytes(stats.bytes)} received) to stdout in ${seconds(stats.elapsedMs)}${retries(stats.retries)}\n`);
  return EXIT.ok;
}

async function toFile(file: string, stateFile: string | undefined, split: boolean, json: boolean, options: InferenceResultsOptions, io: CliIO): Promise<number> {
  const statePath = stateFile ?? `${file}.state.json`;
  const resuming = await access(statePath).then(
    () => true,
    () => false,
  );
  if (resuming) io.stderr.write(`Resuming from ${statePath} (delete it to start over)\n`);
  let latest: InferenceResultsStats | undefined;
  const progress = progressLine(io, () => latest);
  let summary: ExportSummary;
  try {
    summary = await exportInferenceResults({
      ...options,
      file,
      stateFile,
      split: split || undefined,
      onProgress: (stats) => {
        latest = stats;
        progress.update();
      },
    });
  } catch (error) {
    progress.clear();
    if (error instanceof AbortError || io.signal.aborted) {
      io.stderr.write(`inference-streams export: interrupted; progress is saved in ${statePath}. Run the same command again to resume.\n`);
    }
    throw error;
  }
  progress.done();
  if (json) {
    io.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const where = summary.files.length === 1 ? summary.files[0] : `${summary.files.length} part files (${summary.files[0]} …)`;
    const thisRun = summary.resumed ? `, ${formatCount(summary.recordsThisRun)} new` : '';
    io.stderr.write(`Exported ${formatCount(summary.records)} records${thisRun} (${formatCount(summary.pages)} pages, ${formatBytes(summary.bytes)}) to ${where} in ${seconds(summary.elapsedMs)}${retries(summary.retries)}\n`);
  }
  return EXIT.ok;
}

function progressLine(io: CliIO, stats: () => InferenceResultsStats | undefined): ProgressLine {
  return new ProgressLine(io.stderr, io.progress, () => {
    const s = stats();
    if (!s) return 'export: starting…';
    return `export: ${formatCount(s.records)} records, ${formatCount(ratePerSecond(s.records, s.elapsedMs))}/s, ${formatCount(s.pages)} pages, ${formatCount(s.retries)} retries`;
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const retries = (count: number) => (count > 0 ? `, ${count} ${count === 1 ? 'retry' : 'retries'}` : '');
