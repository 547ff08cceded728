/** `inference-streams predict`: JSONL documents, raw emails or comment uids through a Reinfer model, JSONL predictions out. */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AbortError } from '../../core/errors.js';
import { isDescriptorPath } from '../../core/file-identity.js';
import { stringifyJsonl } from '../../core/jsonl.js';
import { csvWriter } from '../../destinations/csv.js';
import type { PredictionColumn } from '../../destinations/columns.js';
import { formatOf, type ExportFormat } from '../../destinations/file-format.js';
import { parquetWriter } from '../../destinations/parquet.js';
import { withoutPassword } from '../../destinations/pg-url.js';
import { predictComments, predictDocuments, predictInto, predictRawEmails, type PredictIntoStats, type PredictIntoSummary, type LabelRequest, type PredictOptions, type PredictStream, type ReinferStats } from '../../reinfer/index.js';
import { COMMON_HELP, EXIT, UsageError, parseIntegerFlag, parseNumberFlag, refuseJsonWithStdout, writeJsonSummary, type CliCommand, type CliIO, type OptionValues } from '../command.js';
import { INPUT_FORMAT_OPTION, JSON_PATH_OPTION, inputFormatHelp, openCliInput, parseInputFormat, parseJsonPath, type InputFormat } from '../input.js';
import { commandHint, copyableCommand } from '../command-line.js';
import { PROGRESS_HELP, PROGRESS_OPTION, formatCount, ratePerSecond, startProgress, type ProgressSnapshot } from '../progress.js';
import { reinferTarget } from '../reinfer-target.js';
import { PREDICT_QUEUE_HELP, PREDICT_QUEUE_OPTIONS, enqueuePredictionsFromFlags } from './predict-queue.js';
import { failureError, predictionColumns, predictionRows } from '../../reinfer/prediction-row.js';
import { counted } from '../../core/plural.js';

export const command: CliCommand = {
  name: 'predict',
  help: `Usage: inference-streams predict --project P --dataset D [options]

Reads JSONL (one input per line) or one JSON array (one input per element), sends it in
batches to a pinned Reinfer model with several requests in flight, and writes one JSON
prediction per input, in input order ("input" is the input's JSON text as read, on one line):
{"input": ..., "labels": [{"name": ["A","B"], "fullName": "A > B", "probability": 0.9}, ...],
 "entities": [...], "labelProperties": [...], "sentiment": 0.5, "model": {"version": 5, ...}}

Inputs, by mode:
  (default)               documents {"messages": [...], "timestamp"?, "user_properties"?}
                          (other fields such as "id" are kept on the output, not sent)
  --raw-emails            {"raw_email": {"headers": ..., "body": ...}, "user_properties"?}
  --uids                  comment uids: "source_id.comment_id" strings or {"uid": ...} objects

Options:
  --project P             project name (required)
  --dataset D             dataset name (required)
  --version V             model version: an integer, live or staging (default live)
  --in FILE|-             input, JSONL or a JSON array (default -: stdin)
${inputFormatHelp(26, true)}
  --out FILE|-            output (default -: stdout): FILE.jsonl, FILE.csv or FILE.parquet. From a
                          file (--in FILE, JSONL or a JSON array) it is resumable: the input
                          position after the last prediction written is saved with it
                          (FILE.state.json), and running the same command again continues there;
                          committed inputs are never sent again. From stdin (or --unordered) the
                          file is written from the start
  --format F              jsonl, csv or parquet (default: from --out's extension, else jsonl)
  --state FILE            a resumable --out's state file (default: the --out file + .state.json)
  --to URL --table T      a database instead: postgres://USER@HOST:PORT/DB or duckdb:PATH, resumable
                          (the position is committed in the same transaction as the rows)
  --columns C,...         table columns (CSV, Parquet, databases), from id, top_label,
                          top_probability, labels, entities, sentiment, model_version, input
                          (default all but input)
  --id-field F            the input field written in the id column (default id)
  --keep-input            add the input column (the input as JSON) to the default columns
  --append                --to: add rows to a table that holds rows of another run
  --rows-per-part N       parquet: rows per part file, each durable (and committed) once complete,
                          so a crash re-sends at most that many (default 100000)
  --transform-tag T       with --raw-emails: how emails are parsed (required), e.g. generic.0.CONVKER5
  --include-comments      with --raw-emails: add the parsed comment to each output
  --threshold X|auto      confidence threshold 0..1, or auto (default: the server's, 0.25)
  --label 'A > B'[=0.4]   only this label, with an optional threshold of its own (repeatable)
  --batch-size N          inputs per request, 1..4096 (default 2048)
  --concurrency N|auto    requests in flight, 1..256, or auto (default 4)
  --max-concurrency N     ceiling of --concurrency auto (default 16)
  --unordered             write predictions as batches finish, not in input order
  --skip-invalid          write inputs that cannot be predicted as {"input", "index", "error"}
                          lines instead of stopping at the first one
  --timeout-ms MS         whole-request timeout (default 240000)
  --endpoint URL          tenant API endpoint (env REINFER_ENDPOINT); --base-url is the same

${PREDICT_QUEUE_HELP}

Environment:
  REINFER_TOKEN           API token, sent as Authorization: Bearer (required)
  REINFER_ENDPOINT        tenant API endpoint, e.g. https://acme.reinfer.io

${PROGRESS_HELP}

${COMMON_HELP}

Examples:
  inference-streams predict --project acme --dataset emails --in docs.jsonl --out predictions.jsonl
  inference-streams predict --project acme --dataset emails --in docs.jsonl --to postgres://me@db/acme --table predictions
  inference-streams predict --project acme --dataset emails --version 5 --threshold auto < docs.jsonl
  inference-streams predict --project acme --dataset emails --label 'Order > Missing=0.4' --label Billing
  inference-streams predict --project acme --dataset emails --raw-emails --transform-tag generic.0.CONVKER5 --in emails.jsonl
  inference-streams predict --project acme --dataset emails --uids --concurrency auto --in uids.jsonl
  inference-streams predict --project acme --dataset emails --in /shared/docs.jsonl --queue redis://10.0.0.5:6379 \\
    --partitions 32 --to postgres://me@db/acme --table predictions --json
`,
  options: {
    ...PROGRESS_OPTION,
    project: { type: 'string' },
    dataset: { type: 'string' },
    version: { type: 'string' },
    in: { type: 'string', short: 'i' },
    ...INPUT_FORMAT_OPTION,
    ...JSON_PATH_OPTION,
    out: { type: 'string', short: 'o' },
    format: { type: 'string' },
    to: { type: 'string' },
    table: { type: 'string' },
    columns: { type: 'string' },
    'id-field': { type: 'string' },
    'keep-input': { type: 'boolean' },
    append: { type: 'boolean' },
    'rows-per-part': { type: 'string' },
    state: { type: 'string' },
    'raw-emails': { type: 'boolean' },
    'transform-tag': { type: 'string' },
    'include-comments': { type: 'boolean' },
    uids: { type: 'boolean' },
    threshold: { type: 'string' },
    label: { type: 'string', multiple: true },
    'batch-size': { type: 'string' },
    concurrency: { type: 'string' },
    'max-concurrency': { type: 'string' },
    unordered: { type: 'boolean' },
    'skip-invalid': { type: 'boolean' },
    'timeout-ms': { type: 'string' },
    endpoint: { type: 'string' },
    'base-url': { type: 'string' },
    ...PREDICT_QUEUE_OPTIONS,
  },
  run: runPredict,
};

async function runPredict(values: OptionValues, positionals: string[], io: CliIO): Promise<number> {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.queue !== undefined) return enqueuePredictionsFromFlags(values, io);
  for (const flag of Object.keys(PREDICT_QUEUE_OPTIONS)) if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --queue`);
  refuseJsonWithStdout(values, (values.out === undefined || values.out === '-') && values.to === undefined, 'predictions on stdout: add --out FILE');
  const options = predictOptions(values, io);
  const rawEmails = values['raw-emails'] === true;
  const uids = values.uids === true;
  if (rawEmails && uids) throw new UsageError('--raw-emails and --uids are different inputs; choose one');
  if (!rawEmails && (values['transform-tag'] !== undefined || values['include-comments'] !== undefined)) {
    throw new UsageError('--transform-tag and --include-comments go with --raw-emails');
  }
  const transformTag = values['transform-tag'];
  if (rawEmails && typeof transformTag !== 'string') throw new UsageError('--raw-emails needs --transform-tag T (e.g. generic.0.CONVKER5)');
  const inPath = typeof values.in === 'string' ? values.in : '-';
  const outPath = typeof values.out === 'string' ? values.out : '-';
  const format = parseInputFormat(values['input-format']);
  const resumable = await resumableReason(values, inPath);
  if (resumable === true) return runPredictInto(values, options, inPath, format, io);
  const tableFlag = ['to', 'table', 'append', 'rows-per-part', 'state'].find((flag) => values[flag] !== undefined);
  if (tableFlag !== undefined) throw new UsageError(`--${tableFlag} needs a resumable run: --in FILE (JSONL or a JSON array), in input order; ${resumable}`);
  const outFormat = outputFormat(values, outPath);
  const columnFlag = ['columns', 'id-field', 'keep-input'].find((flag) => values[flag] !== undefined);
  if (columnFlag !== undefined && outFormat === 'jsonl') throw new UsageError(`--${columnFlag} is for a CSV or Parquet --out (JSONL holds whole predictions)`);
  // The same prediction rows as a resumable run's.
  const columns = predictionColumns(parseColumns(values.columns), values['keep-input'] === true);
  const idField = typeof values['id-field'] === 'string' ? values['id-field'] : 'id';
  if (outPath !== '-') io.stderr.write(`inference-streams predict: ${resumable}, so ${outPath} is not resumable: it is written from the start\n`);
  let stream: PredictStream<unknown>;
  if (rawEmails) {
    stream = predictRawEmails({ ...options, transformTag: transformTag as string, includeComments: values['include-comments'] === true }) as PredictStream<unknown>;
  } else if (uids) {
    stream = predictComments(options) as PredictStream<unknown>;
  } else {
    stream = predictDocuments(options) as PredictStream<unknown>;
  }

  // Inputs that are not objects (uids are strings) are checked by the predict stream itself,
  // which --skip-invalid turns into error lines, the same for JSONL and JSON.
  // keepText: each output's "input" is written as the text it was read from (every digit and key kept).
  const input = await openCliInput({ path: inPath, stdin: io.stdin, format, jsonPath: values['json-path'], objectsOnly: false, keepText: true });
  const table = outFormat === 'csv' ? csvWriter({ file: outPath, columns: columns.specs }) : outFormat === 'parquet' ? parquetWriter({ file: outPath, columns: columns.specs }) : undefined;
  const output: Writable = outPath === '-' ? io.stdout : (table ?? (await openOutput(outPath, input.items)));
  const progress = startProgress(io, 'predict', () => render(stream.stats));
  stream.on('progress', () => progress.update());
  try {
    // end: false for stdout: it belongs to the process (and to the caller in tests), not to us.
    if (table) await pipeline(input.items, stream, predictionRows(columns.names, idField), table);
    else await pipeline(input.items, stream, serializeFailures(), stringifyJsonl(), output, { end: outPath !== '-' });
  } catch (error) {
    progress.clear();
    if (io.signal.aborted) {
      io.stderr.write(`inference-streams predict: interrupted after ${counted(stream.stats.predicted, 'prediction')}\n`);
      throw new AbortError('interrupted', { cause: error });
    }
    throw error;
  }
  progress.done();
  const stats = stream.stats;
  if (values.json === true) {
    writeJsonSummary(io, 'predict', { ...stats, format: outFormat, inputFormat: input.format, resumable: false, out: outPath });
  } else {
    const failed = stats.failed > 0 ? `, ${formatCount(stats.failed)} could not be predicted` : '';
    const retries = stats.retries > 0 ? `, ${counted(stats.retries, 'retry', 'retries')}` : '';
    io.stderr.write(
      `Predicted ${formatCount(stats.predicted)} of ${counted(stats.documents, 'input')}${failed} (${counted(stats.batches, 'batch', 'batches')}, ${counted(stats.requests, 'request')}${retries}) in ${(stats.elapsedMs / 1000).toFixed(1)} s\n`,
    );
  }
  return EXIT.ok;
}

/**
 * True when the run can be resumed: a file in (JSONL or a JSON array), in input order, into a
 * file or a database. Otherwise why not, in words for the note on stderr.
 */
async function resumableReason(values: OptionValues, inPath: string): Promise<true | string> {
  if ((values.out === undefined || values.out === '-') && values.to === undefined) return 'predictions go to stdout';
  if (inPath === '-') return 'the input is stdin';
  if (isDescriptorPath(inPath)) return `the input ${inPath} is a descriptor, not a file`;
  if (values.unordered === true) return '--unordered writes predictions out of input order';
  try {
    if (!(await stat(inPath)).isFile()) return `the input ${inPath} is not a regular file`;
  } catch {
    return true; // predictInto names the missing file
  }
  return true;
}

/** The output's format for the non-resumable path: --format, else by --out's extension. */
function outputFormat(values: OptionValues, outPath: string): ExportFormat {
  const format = values.format;
  if (format !== undefined && format !== 'jsonl' && format !== 'csv' && format !== 'parquet') throw new UsageError(`--format must be jsonl, csv or parquet (got ${JSON.stringify(format)})`);
  if (format !== undefined) return format;
  return outPath === '-' ? 'jsonl' : formatOf(outPath);
}

/** `--columns a,b,c` as a list. */
function parseColumns(value: OptionValues[string]): PredictionColumn[] | undefined {
  if (typeof value !== 'string') return undefined;
  return value.split(',').map((name) => name.trim()) as PredictionColumn[];
}

/** The resumable run: predictInto with the command's options, progress and summary. */
async function runPredictInto(values: OptionValues, options: PredictOptions, inPath: string, inputFormat: InputFormat | undefined, io: CliIO): Promise<number> {
  const jsonPath = parseJsonPath(values['json-path'], inPath, inputFormat);
  const outPath = typeof values.out === 'string' && values.out !== '-' ? values.out : undefined;
  const to = typeof values.to === 'string' ? values.to : undefined;
  if (outPath !== undefined && to !== undefined) throw new UsageError('--out and --to are two outputs; choose one');
  let current: PredictIntoStats | undefined;
  const progress = startProgress(io, 'predict', () => (current ? render(current) : { text: 'predict: starting' }));
  const mode = values['raw-emails'] === true ? 'rawEmails' : values.uids === true ? 'comments' : 'documents';
  let summary: PredictIntoSummary;
  try {
    summary = await predictInto({
      ...options,
      input: inPath,
      inputFormat,
      jsonPath,
      mode,
      transformTag: values['transform-tag'] as string | undefined,
      includeComments: values['include-comments'] === true || undefined,
      skipInvalid: values['skip-invalid'] === true,
      file: outPath,
      stateFile: values.state as string | undefined,
      format: values.format as ExportFormat | undefined,
      to,
      table: values.table as string | undefined,
      append: values.append === true || undefined,
      rowsPerPart: parseIntegerFlag('rows-per-part', values['rows-per-part'] as string | undefined, 1, 100_000_000),
      columns: parseColumns(values.columns),
      idField: values['id-field'] as string | undefined,
      keepInput: values['keep-input'] === true || undefined,
      onProgress: (stats) => {
        current = stats;
        progress.update();
      },
    });
  } catch (error) {
    progress.clear();
    if (io.signal.aborted) {
      io.stderr.write(`inference-streams predict: interrupted after ${counted(current?.records ?? 0, 'prediction')} written; run the same command to continue: ${commandHint(copyableCommand(['predict'], values))}\n`);
      throw new AbortError('interrupted', { cause: error });
    }
    throw error;
  }
  progress.done();
  const { stats } = summary;
  const where = outPath ?? `${withoutPassword(to!)} table ${String(values.table)}`;
  if (values.json === true) {
    writeJsonSummary(io, 'predict', { ...stats, format: summary.format, inputFormat: summary.inputFormat, resumable: true, resumed: summary.resumed, records: summary.records, recordsThisRun: stats.records, files: summary.files, bytes: summary.bytes, out: where });
  } else {
    const failed = stats.failed > 0 ? `, ${formatCount(stats.failed)} could not be predicted` : '';
    const retries = stats.retries > 0 ? `, ${counted(stats.retries, 'retry', 'retries')}` : '';
    const resumed = summary.resumed ? ` (resumed: ${counted(summary.records, 'row')} in all, ${formatCount(stats.records)} new)` : '';
    io.stderr.write(
      `Predicted ${formatCount(stats.predicted)} of ${counted(stats.documents, 'input')}${failed} (${counted(stats.batches, 'batch', 'batches')}, ${counted(stats.requests, 'request')}${retries}) in ${(stats.elapsedMs / 1000).toFixed(1)} s into ${where}${resumed}\n`,
    );
  }
  return EXIT.ok;
}

function predictOptions(values: OptionValues, io: CliIO): PredictOptions {
  const { endpoint, token, project, dataset } = reinferTarget(values, io);
  const version = typeof values.version === 'string' ? (/^\d+$/.test(values.version) ? Number(values.version) : (values.version as 'live')) : undefined;
  const threshold = values.threshold === 'auto' ? 'auto' : parseNumberFlag('threshold', values.threshold as string | undefined, 0, 1);
  const concurrency = values.concurrency === 'auto' ? 'auto' : parseIntegerFlag('concurrency', values.concurrency as string | undefined, 1, 256);
  return {
    endpoint,
    token,
    project,
    dataset,
    version,
    threshold,
    labels: parseLabels(values.label),
    batchSize: parseIntegerFlag('batch-size', values['batch-size'] as string | undefined, 1, 4096),
    concurrency,
    maxConcurrency: parseIntegerFlag('max-concurrency', values['max-concurrency'] as string | undefined, 1, 256),
    ordered: values.unordered === true ? false : undefined,
    onError: values['skip-invalid'] === true ? 'emit' : 'throw',
    timeoutMs: parseIntegerFlag('timeout-ms', values['timeout-ms'] as string | undefined, 1, 86_400_000),
    signal: io.signal,
  };
}

/** Open `--out` before anything is sent, so a missing directory fails first; `input` is closed if it fails. */
async function openOutput(path: string, input: { destroy(): void }): Promise<Writable> {
  const output = createWriteStream(path);
  try {
    await once(output, 'open');
  } catch (error) {
    input.destroy();
    throw error;
  }
  return output;
}

/** `--label 'A > B=0.4'` → `{name: 'A > B', threshold: 0.4}`. */
export function parseLabels(value: OptionValues[string]): LabelRequest[] | undefined {
  if (value === undefined) return undefined;
  const list = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
  return list.map((spec) => {
    const eq = spec.indexOf('=');
    if (eq < 0) return { name: spec };
    if (spec.indexOf('=', eq + 1) >= 0) throw new UsageError(`--label takes NAME or NAME=THRESHOLD, with one "=" (got "${spec}")`);
    const threshold = parseNumberFlag('label', spec.slice(eq + 1), 0, 1);
    if (eq === 0) throw new UsageError(`--label needs a name before "=" (got "${spec}")`);
    return { name: spec.slice(0, eq), threshold };
  });
}

/** Failures carry an Error, which JSON would write as `{}`: write its name and message. */
function serializeFailures(): Transform {
  return new Transform({
    objectMode: true,
    transform(output: { input?: unknown; error?: Error }, _encoding, callback) {
      callback(null, output.error instanceof Error ? { ...output, error: failureError(output.error) } : output);
    },
  });
}

function render(stats: ReinferStats): ProgressSnapshot {
  const rate = ratePerSecond(stats.predicted + stats.failed, stats.elapsedMs);
  const failed = stats.failed > 0 ? `, ${formatCount(stats.failed)} failed` : '';
  const text = `predict: ${formatCount(stats.predicted)} predicted${failed}, ${formatCount(rate)}/s, ${counted(stats.batches, 'batch', 'batches')}, concurrency ${stats.concurrency}, ${counted(stats.retries, 'retry', 'retries')}`;
  const done = stats.predicted + stats.failed;
  return { text, records: done, recordsThisRun: done, ratePerSecond: rate, position: `input ${formatCount(stats.documents)} sent`, retries: stats.retries };
}
