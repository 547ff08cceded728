/** `inference-streams export`: Innerworks inference results to a JSONL, CSV or Parquet file or a database (resumable), stdout, or a queue. */
import type { ExportInferenceResultsOptions, InferenceResultsOptions, InferenceResultsStats } from '../../innerworks/index.js';
import { COMMON_HELP, EXIT, UsageError, optionOrEnv, refuseJsonWithStdout, writeJsonSummary, parseIntegerFlag, parseTimeFlag, type CliCommand, type CliIO, type OptionValues } from '../command.js';
import { exportToDatabase } from './export-database.js';
import { exportProgressLine, retries, runResumableExport, seconds } from './export-run.js';
import { afterUntilLine, checkAfterUntil } from './after-until.js';
import { QUEUE_HELP, QUEUE_OPTIONS, enqueueFromFlags } from './export-queue.js';
import { exportToStdout } from './export-stdout.js';
import { copyableCommand, shellQuote, singleQuote, type CopyableCommand } from '../command-line.js';
import { PROGRESS_HELP, PROGRESS_OPTION, formatBytes, formatCount } from '../progress.js';
import { counted } from '../../core/plural.js';

export const command: CliCommand = {
  name: 'export',
  help: `Usage: inference-streams export --out FILE|- [options]
       inference-streams export --to postgres://…|duckdb:PATH --table NAME [options]
       inference-streams export --queue redis://… --to postgres://… --table NAME --since T --until T [options]

Reads every Innerworks inference result (oldest first) and writes it to one of:
  JSONL        --out FILE.jsonl (any name but those below): one JSON object per line, each
               result byte for byte as received
  CSV          --out FILE.csv: one row per result, a column per field
  Parquet      --out FILE.parquet: one file (its parts merged at the end); --out DIR/: a dataset
               of part files (both need @duckdb/node-api installed)
  stdout       --out -: JSONL to pipe elsewhere (interrupted, it prints a --checkpoint to resume)
  PostgreSQL   --to postgres://… --table NAME: rows and position in one transaction (needs pg
               and pg-copy-streams installed)
  DuckDB       --to duckdb:PATH --table NAME: the same, in the DuckDB file PATH (needs
               @duckdb/node-api)
  a queue      --queue redis://… --to postgres://… --table NAME: not run here but enqueued for
               'worker' processes on any number of machines (see Scale out below)

A FILE or a database is written exactly once: after each page the position is made durable with
it (for a FILE in FILE.state.json, fsynced); running the same command again resumes from there
(after a crash, Ctrl-C or kill), and once finished picks up only newer results.
With --until the export stops there, and its summary says how many results lie after it.

Options:
  --out FILE|-            the file to write (JSONL, CSV or Parquet, see --format), or - for stdout
                          (required unless --to)
  --since ISO|MS          first result time, ISO 8601 or epoch ms (default: the beginning)
  --checkpoint CP         start after this checkpoint (printed by an interrupted --out - export);
                          wins over --since. A FILE export's saved state wins over it
  --until ISO|MS          stop before this time (default: the end of the data;
                          with --partitions, now)
  --batch-size N          results per request, 1..5000 (default 1000)
  --partitions K          parallel cursors over [since, until), 1..64 (default 1; needs --since);
                          with --queue: partition jobs, 1..4096 (default 8)
  --split                 with --partitions and a FILE: keep K part files FILE.part-i-of-K
  --follow                after the end, keep polling for new results until Ctrl-C
  --poll-interval-ms MS   wait between polls for new results with --follow (default 5000: a fixed
                          wait, where import's --poll-interval-ms is a first wait that grows)
  --state FILE            resume state file (default: the --out file + .state.json)
  --format F              jsonl, csv or parquet (default: from the --out extension, .csv or
                          .parquet; a trailing / is a Parquet dataset directory; else jsonl,
                          but .duckdb, .db, .tsv, .gz … are refused). A resume keeps the
                          format it started with: another one is refused (exit 2)
  --keep-record           csv/parquet/database: also keep each whole record as JSON in a record column
  --csv-escape-formulas   csv: prefix text cells starting with = + - @ (tab, CR) with ' so a
                          spreadsheet does not run them (default: values exactly as received)
  --rows-per-part N       parquet: rows per part file, each durable once complete (default 100000)
  --base-url URL          API base URL (env INNERWORKS_BASE_URL; default https://api.prod.innerworks.me)
  --to postgres://USER@HOST:PORT/DB | duckdb:PATH
                          a database instead of --out: COPY/appender of each page and its
                          position in one transaction (no state file; PGPASSWORD, PG* and
                          DATABASE_URL work as in libpq; the password is never printed)
  --table NAME            the table of --to (created when missing; name or schema.name)
  --append                with --to: add to a table that already has rows but no saved
                          position of this export (refused without it; the export id is
                          the table name)
  --emulator-records N    with --emulator: results the local emulator serves, 0..1000000000000
                          (default 10000; three a second from 2024-01-01, see its startup line)

${QUEUE_HELP}

Environment:
  INNERWORKS_API_KEY      API key sent as x-api-key (required)
  INNERWORKS_BASE_URL     API base URL

${PROGRESS_HELP}

${COMMON_HELP}

Examples:
  inference-streams export --out results.jsonl --since 2024-01-01
  inference-streams export --out results.jsonl --since 2024-01-01 --until 2024-02-01 --partitions 4
  inference-streams export --out - --batch-size 5000 | jq .result.geolocation.vpnIsEnabled
  inference-streams export --out - --checkpoint 'eyJ2ZXJzaW9uIjoxfQ==' >> results.jsonl
  inference-streams export --emulator --out demo.jsonl --json
  inference-streams export --to postgres://me@db.internal:5432/warehouse --table inference_results
  inference-streams export --to duckdb:results.duckdb --table results --since 2024-01-01
  inference-streams export --queue redis://127.0.0.1:6379 --partitions 32 --since 2024-01-01 --until 2025-01-01 \\
    --to postgres://me@db.internal:5432/warehouse --table inference_results
`,
  options: {
    out: { type: 'string', short: 'o' },
    since: { type: 'string' },
    checkpoint: { type: 'string' },
    until: { type: 'string' },
    'batch-size': { type: 'string' },
    partitions: { type: 'string' },
    split: { type: 'boolean' },
    follow: { type: 'boolean' },
    'poll-interval-ms': { type: 'string' },
    state: { type: 'string' },
    format: { type: 'string' },
    'keep-record': { type: 'boolean' },
    'csv-escape-formulas': { type: 'boolean' },
    'rows-per-part': { type: 'string' },
    'base-url': { type: 'string' },
    to: { type: 'string' },
    table: { type: 'string' },
    append: { type: 'boolean' },
    'emulator-records': { type: 'string' },
    ...QUEUE_OPTIONS,
    ...PROGRESS_OPTION,
  },
  run: runExport,
};

async function runExport(values: OptionValues, positionals: string[], io: CliIO): Promise<number> {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values['csv-escape-formulas'] === true && (values.queue !== undefined || values.to !== undefined || values.out === '-')) throw new UsageError('--csv-escape-formulas is for --out FILE.csv (a CSV file)');
  if (values.queue !== undefined) return enqueueFromFlags(values, io);
  const out = typeof values.out === 'string' ? values.out : '';
  const database = values.to !== undefined || values.table !== undefined;
  if (!database && out.length === 0) throw new UsageError('--out FILE (or --out - for stdout, or --to DATABASE --table NAME) is required');
  const apiKey = io.env.INNERWORKS_API_KEY;
  if (!apiKey) throw new UsageError('set INNERWORKS_API_KEY to your API key (or add --emulator to try a local emulator)');
  const partitions = parseIntegerFlag('partitions', values.partitions as string | undefined, 1, 64);
  const options: InferenceResultsOptions = {
    apiKey,
    baseUrl: optionOrEnv(values, 'base-url', io.env, 'INNERWORKS_BASE_URL'),
    startTime: parseTimeFlag('since', values.since as string | undefined),
    checkpoint: typeof values.checkpoint === 'string' ? values.checkpoint : undefined,
    endTime: parseTimeFlag('until', values.until as string | undefined),
    batchSize: parseIntegerFlag('batch-size', values['batch-size'] as string | undefined, 1, 5000),
    partitions,
    follow: values.follow === true ? true : undefined,
    pollIntervalMs: parseIntegerFlag('poll-interval-ms', values['poll-interval-ms'] as string | undefined, 1, 86_400_000),
    signal: io.signal,
  };
  if (database) return exportToDatabase(values, options, io);
  if (values.append === true) throw new UsageError('--append is for --to DATABASE --table NAME; a file export resumes from its state file (or starts the file over)');
  if (values.split === true && !(partitions && partitions > 1)) throw new UsageError('--split needs --partitions K (K > 1)');
  if (values.checkpoint !== undefined && partitions !== undefined && partitions > 1) throw new UsageError('--checkpoint cannot be combined with --partitions (a checkpoint is one position)');
  refuseJsonWithStdout(values, out === '-');
  const format = fileFormat(values, out);
  if (out === '-') {
    if (values.state !== undefined || values.split === true) throw new UsageError('--state and --split need --out FILE (stdout keeps no state file: resume it with the printed --checkpoint)');
    let stats: InferenceResultsStats | undefined;
    const progress = exportProgressLine(io, () => stats);
    const summary = await exportToStdout(options, io, {
      resumeCommand: (checkpoint) => resumeCommand(values, checkpoint),
      onProgress: (latest) => {
        stats = latest;
        progress.update();
      },
      beforeMessage: () => progress.clear(),
    });
    progress.done();
    const after = await checkAfterUntil(options);
    io.stderr.write(`Exported ${counted(summary.records, 'record')} (${counted(summary.pages, 'page')}, ${formatBytes(summary.bytes)} received) to stdout in ${seconds(summary.elapsedMs)}${retries(summary.retries)}\n`);
    io.stderr.write(afterUntilLine(options.endTime, after));
    return EXIT.ok;
  }
  return toFile(out, typeof values.state === 'string' ? values.state : undefined, values.split === true, values.json === true, { ...options, ...format }, io, copyableCommand(['export'], values));
}

/** `--format` (checked) and `--keep-record`: where a FILE export's rows go. */
function fileFormat(values: OptionValues, out: string): Pick<ExportInferenceResultsOptions, 'format' | 'keepRecord' | 'rowsPerPart' | 'csvEscapeFormulas'> {
  const format = values.format;
  if (format !== undefined && format !== 'jsonl' && format !== 'csv' && format !== 'parquet') throw new UsageError(`--format must be jsonl, csv or parquet (got "${String(format)}")`);
  if (out === '-' && format !== undefined && format !== 'jsonl') throw new UsageError('--out - writes JSONL; --format csv/parquet needs --out FILE');
  const rowsPerPart = parseIntegerFlag('rows-per-part', values['rows-per-part'] as string | undefined, 1, 100_000_000);
  return { format, keepRecord: values['keep-record'] === true || undefined, rowsPerPart, csvEscapeFormulas: values['csv-escape-formulas'] === true || undefined };
}

async function toFile(file: string, stateFile: string | undefined, split: boolean, json: boolean, options: Omit<ExportInferenceResultsOptions, 'file'>, io: CliIO, command: CopyableCommand): Promise<number> {
  const statePath = stateFile ?? `${file}.state.json`;
  const place = { savedIn: statePath, resumeFrom: statePath, startOver: ' (delete it to start over)', command };
  const summary = await runResumableExport(io, { ...options, file, stateFile, split: split || undefined }, place);
  const after = await checkAfterUntil(options);
  if (json) {
    writeJsonSummary(io, 'export', { ...summary, ...(after ? { afterUntil: after } : {}) });
  } else {
    const where = summary.files.length === 1 ? summary.files[0] : `${summary.files.length} part files (${summary.files[0]} …)`;
    const thisRun = summary.resumed ? `${formatCount(summary.recordsThisRun)} new; ` : '';
    io.stderr.write(`Exported ${counted(summary.records, 'record')} (${thisRun}${counted(summary.pages, 'page')}, ${formatBytes(summary.bytes)}) to ${where} in ${seconds(summary.elapsedMs)}${retries(summary.retries)}\n`);
    io.stderr.write(afterUntilLine(options.endTime, after));
  }
  return EXIT.ok;
}

/**
 * The command that continues a stdout export after `checkpoint`: the same flags, less those the
 * checkpoint replaces (`--since`), each value shell-quoted so it can be pasted as it is.
 */
function resumeCommand(values: OptionValues, checkpoint: string): string {
  // The checkpoint is always quoted (base64 is safe either way; a quoted value is easy to find).
  const words = ['inference-streams', 'export', '--out', '-', '--checkpoint', singleQuote(checkpoint)];
  for (const flag of ['until', 'batch-size', 'base-url', 'poll-interval-ms'] as const) {
    const value = values[flag];
    if (typeof value === 'string') words.push(`--${flag}`, shellQuote(value));
  }
  for (const flag of ['follow', 'emulator'] as const) if (values[flag] === true) words.push(`--${flag}`);
  return words.join(' ');
}

