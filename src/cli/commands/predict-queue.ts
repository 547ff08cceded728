/**
 * `predict --queue redis://… --in FILE --partitions K --to postgres://… --table T`: cut a JSONL
 * file into K byte ranges and enqueue them for `worker` processes (see enqueuePredictions),
 * instead of predicting here. Prints the id (`status --queue … --id ID` watches it).
 */
import { enqueuePredictions } from '../../queue/enqueue-predictions.js';
import type { PredictionColumn } from '../../destinations/columns.js';
import { EXIT, UsageError, parseIntegerFlag, parseNumberFlag, writeJsonSummary, type CliIO, type OptionValues } from '../command.js';
import { queueHints } from '../queue-hints.js';
import { parseLabels } from './predict.js';
import { counted } from '../../core/plural.js';

/** Flags of `predict` that only queue mode takes. */
export const PREDICT_QUEUE_OPTIONS = {
  queue: { type: 'string' },
  partitions: { type: 'string' },
  attempts: { type: 'string' },
  'backoff-ms': { type: 'string' },
} as const;

export const PREDICT_QUEUE_HELP = `Scale out (BullMQ on Redis; see the worker and status commands):
  --queue URL             enqueue the predictions for workers instead of running them here: needs
                          --in FILE (JSONL, at a path every worker reads the same file at: a shared
                          volume), --to postgres://… and --table; prints the id (the same for the
                          same predictions: enqueueing again adds nothing). Workers read
                          REINFER_TOKEN (and REINFER_ENDPOINT unless --endpoint) from their env
  --partitions K          with --queue: partition jobs, 1..4096 (default 8); --concurrency is per job
  --attempts N            with --queue: attempts per partition before it fails (default 3)
  --backoff-ms MS         with --queue: first wait before a retry, doubled each time (default 5000)`;

/** Flags about a local run. */
const LOCAL_ONLY = ['out', 'format', 'unordered', 'rows-per-part', 'json-path'] as const;

export async function enqueuePredictionsFromFlags(values: OptionValues, io: CliIO): Promise<number> {
  for (const flag of LOCAL_ONLY) if (values[flag] !== undefined) throw new UsageError(`--${flag} cannot be used with --queue (queued predictions run on the workers, into --to postgres://…)`);
  const inPath = values.in;
  if (typeof inPath !== 'string' || inPath === '-') throw new UsageError('--queue needs --in FILE: a JSONL file every worker reads at the same path (a shared volume); stdin cannot be split among workers');
  if (values['input-format'] === 'json') throw new UsageError('--queue needs JSONL input: a JSON array cannot be cut into ranges that workers read apart (convert it: jq -c ".[]" in.json > in.jsonl)');
  if (typeof values.table !== 'string') throw new UsageError('--queue needs --table NAME (and --to postgres://USER@HOST:PORT/DB, or DATABASE_URL)');
  if (typeof values.project !== 'string' || typeof values.dataset !== 'string') throw new UsageError('--project P and --dataset D are required');
  const rawEmails = values['raw-emails'] === true;
  if (rawEmails && values.uids === true) throw new UsageError('--raw-emails and --uids are different inputs; choose one');
  const endpoint = typeof values.endpoint === 'string' ? values.endpoint : typeof values['base-url'] === 'string' ? values['base-url'] : undefined;
  const version = typeof values.version === 'string' ? (/^\d+$/.test(values.version) ? Number(values.version) : (values.version as 'live')) : undefined;
  const started = Date.now();
  const enqueued = await enqueuePredictions({
    queue: values.queue as string,
    input: inPath,
    partitions: parseIntegerFlag('partitions', values.partitions as string | undefined, 1, 4096),
    to: typeof values.to === 'string' ? values.to : undefined,
    table: values.table,
    append: values.append === true || undefined,
    endpoint,
    project: values.project,
    dataset: values.dataset,
    version,
    mode: rawEmails ? 'rawEmails' : values.uids === true ? 'comments' : 'documents',
    transformTag: values['transform-tag'] as string | undefined,
    includeComments: values['include-comments'] === true || undefined,
    threshold: values.threshold === 'auto' ? 'auto' : parseNumberFlag('threshold', values.threshold as string | undefined, 0, 1),
    labels: parseLabels(values.label),
    columns: typeof values.columns === 'string' ? (values.columns.split(',').map((name) => name.trim()) as PredictionColumn[]) : undefined,
    idField: values['id-field'] as string | undefined,
    keepInput: values['keep-input'] === true || undefined,
    skipInvalid: values['skip-invalid'] === true || undefined,
    batchSize: parseIntegerFlag('batch-size', values['batch-size'] as string | undefined, 1, 4096),
    concurrency: values.concurrency === 'auto' ? 'auto' : parseIntegerFlag('concurrency', values.concurrency as string | undefined, 1, 256),
    maxConcurrency: parseIntegerFlag('max-concurrency', values['max-concurrency'] as string | undefined, 1, 256),
    timeoutMs: parseIntegerFlag('timeout-ms', values['timeout-ms'] as string | undefined, 1, 86_400_000),
    attempts: parseIntegerFlag('attempts', values.attempts as string | undefined, 1, 100),
    backoffMs: parseIntegerFlag('backoff-ms', values['backoff-ms'] as string | undefined, 0, 86_400_000),
  });
  if (values.json === true) {
    writeJsonSummary(io, 'predict', { ...enqueued, elapsedMs: Date.now() - started });
  } else {
    io.stdout.write(`${enqueued.id}\n`);
    const what = enqueued.added ? `enqueued ${counted(enqueued.partitions, 'partition')}` : `already enqueued (${counted(enqueued.partitions, 'partition')}); ${counted(enqueued.retried, 'failed partition')} sent back to work`;
    io.stderr.write(`inference-streams predict: ${what}.\n${queueHints(values.queue as string, enqueued.id, 'REINFER_TOKEN and the input file at the same path')}`);
  }
  return EXIT.ok;
}
