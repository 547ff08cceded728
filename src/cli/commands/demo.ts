/**
 * `inference-streams demo` (`npm run demo`): starts the emulator in-process and runs the
 * library's main job end to end (cli/demo-pipeline.ts), with a progress bar per stage and a
 * summary table. No keys, no network; safe to run again (it starts from a clean output folder).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseFaultSpec, startEmulator, type FaultOptions } from '../../emulator/index.js';
import { runDemoPipeline, type DemoOutcome } from '../demo-pipeline.js';
import { COMMON_HELP, EXIT, UsageError, parseIntegerFlag, writeJsonSummary, type CliCommand, type CliIO } from '../command.js';
import { PROGRESS_HELP, PROGRESS_OPTION, formatBytes, formatCount, ratePerSecond, startProgress, type Progress, type ProgressSnapshot } from '../progress.js';
import { counted } from '../../core/plural.js';

const DEFAULT_FAULTS = 'rate=0.01,kinds=429,503,reset,retry-after-ms=50';

export const command: CliCommand = {
  name: 'demo',
  help: `Usage: inference-streams demo [options]

Starts a local emulator of all three APIs and runs the library's main job end to end:
  1. export Innerworks results to <out-dir>/results.jsonl, as 'export --out FILE' does
     (resumable, exactly once)
  2. run the first --predict of them through a Reinfer model, as 'predict' does
  3. import the predictions into SafetyKit, as 'import --wait' does (spool, pre-signed upload,
     polling)
  4. stream SafetyKit's results back to <out-dir>/safetykit-results.jsonl, as 'import
     --results-out FILE' does
and prints a summary table. A few faults (429, 503, connection resets) are injected so that
the retry counts are not all zero; every record still arrives exactly once.

Options:
  --records N        Innerworks records to export (default 200000)
  --predict N        results run through the model and imported (default 20000)
  --out-dir DIR      where the files go (default demo-output)
  --faults SPEC      injected faults (default ${DEFAULT_FAULTS}; "none" for none)

${PROGRESS_HELP}

${COMMON_HELP}

Examples:
  npm run demo
  inference-streams demo --records 1000000 --predict 100000 --json
`,
  options: {
    ...PROGRESS_OPTION,
    records: { type: 'string' },
    predict: { type: 'string' },
    'out-dir': { type: 'string' },
    faults: { type: 'string' },
  },
  async run(values, _positionals, io) {
    const records = parseIntegerFlag('records', values.records as string | undefined, 1, 100_000_000) ?? 200_000;
    const predict = Math.min(records, parseIntegerFlag('predict', values.predict as string | undefined, 1, 10_000_000) ?? 20_000);
    const outDir = resolve((values['out-dir'] as string | undefined) ?? 'demo-output');
    const faults = readFaults((values.faults as string | undefined) ?? DEFAULT_FAULTS);

    const files = {
      results: join(outDir, 'results.jsonl'),
      predictions: join(outDir, 'predictions.jsonl'),
      safetykitResults: join(outDir, 'safetykit-results.jsonl'),
    };
    // A fresh start each run: the export would otherwise resume from the last run's state file.
    await rm(outDir, { recursive: true, force: true });
    await mkdir(outDir, { recursive: true });

    const emulator = await startEmulator({ records, faults, safetykit: { queuedMs: 50, ingestingMs: 100 } });
    io.stderr.write(`Emulator of Innerworks, SafetyKit and Reinfer on ${emulator.url}${faults ? ` (injecting faults: ${(values.faults as string | undefined) ?? DEFAULT_FAULTS})` : ''}\n`);
    const started = Date.now();
    try {
      const outcome = await runWithProgress(io, emulator.env, files, predict);
      const elapsedMs = Date.now() - started;
      if (values.json === true) writeJsonSummary(io, 'demo', { ...outcome, files, elapsedMs });
      else io.stdout.write(summaryTable(outcome, files, elapsedMs));
      return EXIT.ok;
    } finally {
      await emulator.close();
    }
  },
};

function readFaults(spec: string): FaultOptions | undefined {
  if (spec === 'none' || spec === '') return undefined;
  try {
    return parseFaultSpec(spec);
  } catch (error) {
    throw new UsageError(`--faults: ${(error as Error).message}`);
  }
}

async function runWithProgress(io: CliIO, env: Record<string, string>, files: Parameters<typeof runDemoPipeline>[1], predict: number): Promise<DemoOutcome> {
  let exportLine: ProgressSnapshot = { text: '1/3 export    starting' };
  let predictLine: ProgressSnapshot = { text: '2/3 predict   starting' };
  let downloadLine: ProgressSnapshot = { text: '3/3 results   starting' };
  // One reporter per stage, each started when its stage starts (its plain lines come only then).
  const exportBar = startProgress(io, 'demo', () => exportLine);
  let predictBar: Progress | undefined;
  let downloadBar: Progress | undefined;
  let stage: 'export' | 'predict' | 'download' = 'export';
  const outcome = await runDemoPipeline(
    {
      innerworks: { baseUrl: env.INNERWORKS_BASE_URL, apiKey: env.INNERWORKS_API_KEY },
      reinfer: { endpoint: env.REINFER_ENDPOINT, token: env.REINFER_TOKEN },
      safetykit: { baseUrl: env.SAFETYKIT_BASE_URL, apiKey: env.SAFETYKIT_API_KEY },
    },
    files,
    { predict },
    {
      signal: io.signal,
      progress: {
        exporting(stats) {
          const rate = ratePerSecond(stats.records, stats.elapsedMs);
          exportLine = { text: `1/3 export    ${formatCount(stats.records)} results, ${formatCount(rate)}/s, ${counted(stats.pages, 'page')}, ${counted(stats.retries, 'retry', 'retries')}`, records: stats.records, recordsThisRun: stats.records, ratePerSecond: rate, retries: stats.retries };
          exportBar.update();
        },
        predicting(stats, importing) {
          if (stage === 'export') {
            exportBar.done();
            stage = 'predict';
            predictBar = startProgress(io, 'demo', () => predictLine);
          }
          predictLine = {
            text: `2/3 predict   ${formatCount(stats.predicted)}/${formatCount(predict)} documents, ${counted(stats.requests, 'request')}, ${counted(stats.retries, 'retry', 'retries')} → import ${importing.phase} ${formatBytes(importing.spooledBytes)}`,
            records: stats.predicted,
            recordsThisRun: stats.predicted,
            retries: stats.retries,
          };
          predictBar?.update();
        },
        downloading(stats) {
          if (stage !== 'download') {
            predictBar?.done();
            stage = 'download';
            downloadBar = startProgress(io, 'demo', () => downloadLine);
          }
          downloadLine = { text: `3/3 results   ${formatCount(stats.objects)} SafetyKit outputs, ${formatBytes(stats.bytes)}`, records: stats.objects, recordsThisRun: stats.objects, retries: stats.retries };
          downloadBar?.update();
        },
      },
    },
  );
  exportBar.done();
  predictBar?.done();
  downloadBar?.done();
  return outcome;
}

function summaryTable(outcome: DemoOutcome, files: Record<string, string>, elapsedMs: number): string {
  const rows: string[][] = [
    ['stage', 'records', 'requests', 'retries', 'records/s', 'seconds'],
    row('Innerworks export', outcome.export.records, outcome.export.requests, outcome.export.retries, outcome.export.elapsedMs),
    row('Reinfer predict', outcome.predict.predicted, outcome.predict.requests, outcome.predict.retries, outcome.predict.elapsedMs),
    row('SafetyKit import', outcome.import.objects, outcome.import.stats.requests, outcome.import.retries, outcome.import.elapsedMs),
    row('SafetyKit results', outcome.results.objects, outcome.results.requests, outcome.results.retries, outcome.results.elapsedMs),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((r) => r[column].length)));
  const render = (r: string[]) => r.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
  const lines = [render(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(render)];
  return `
${lines.join('\n')}

Files:
  ${files.results}   (${formatBytes(outcome.export.bytes)}; with your own key, 'inference-streams export --out FILE' writes the same, resumably)
  ${files.predictions}
  ${files.safetykitResults}

SafetyKit import request: ${outcome.import.requestIds.join(', ')}
Done in ${(elapsedMs / 1000).toFixed(1)} s.
`;
}

function row(stage: string, records: number, requests: number, retries: number, elapsedMs: number): string[] {
  return [stage, formatCount(records), formatCount(requests), formatCount(retries), formatCount(ratePerSecond(records, elapsedMs)), (elapsedMs / 1000).toFixed(2)];
}
