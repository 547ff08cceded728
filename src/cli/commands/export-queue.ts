/**
 * `export --queue redis://…`: plan the export and enqueue it as BullMQ jobs for `worker`
 * processes on any number of machines, instead of running it here. Prints the export id.
 */
import { enqueueExport } from '../../queue/index.js';
import { queueHints } from '../queue-hints.js';
import { EXIT, UsageError, parseIntegerFlag, parseTimeFlag, writeJsonSummary, type CliIO, type OptionValues } from '../command.js';
import { counted } from '../../core/plural.js';

/** Flags of `export` that only queue mode takes (merged into the export command's options). */
export const QUEUE_OPTIONS = {
  queue: { type: 'string' },
  attempts: { type: 'string' },
  'backoff-ms': { type: 'string' },
  'records-per-partition': { type: 'string' },
  'total-records': { type: 'string' },
} as const;

export const QUEUE_HELP = `Scale out (BullMQ on Redis; see also the worker and status commands):
  --queue URL             enqueue the export for workers instead of running it here:
                          needs --since, --until, --to postgres://… and --table; prints the
                          export id (the same for the same export: enqueueing again adds
                          nothing and sends failed partitions back to work); --partitions K
                          is the number of partition jobs (see above)
  --records-per-partition N, --total-records T
                          with --queue: cut into more partitions of about N records when the
                          total T is known
  --attempts N            with --queue: attempts per partition before it fails (default 3)
  --backoff-ms MS         with --queue: first wait before a retry, doubled each time (default 5000)`;

/** Flags that make no sense for a queued export (they are about a local run). */
const LOCAL_ONLY = ['out', 'format', 'split', 'follow', 'state', 'checkpoint', 'rows-per-part', 'poll-interval-ms'] as const;

export async function enqueueFromFlags(values: OptionValues, io: CliIO): Promise<number> {
  for (const flag of LOCAL_ONLY) if (values[flag] !== undefined) throw new UsageError(`--${flag} cannot be used with --queue (a queued export runs on the workers, into --to postgres://…)`);
  const startTime = parseTimeFlag('since', values.since as string | undefined);
  const endTime = parseTimeFlag('until', values.until as string | undefined);
  if (startTime === undefined || endTime === undefined) throw new UsageError('--queue needs --since and --until (the export id is derived from them, so it must not depend on the clock)');
  if (typeof values.table !== 'string') throw new UsageError('--queue needs --table NAME (and --to postgres://USER@HOST:PORT/DB, or DATABASE_URL)');
  const started = Date.now();
  const enqueued = await enqueueExport({
    queue: values.queue as string,
    startTime,
    endTime,
    partitions: parseIntegerFlag('partitions', values.partitions as string | undefined, 1, 4096),
    recordsPerPartition: parseIntegerFlag('records-per-partition', values['records-per-partition'] as string | undefined, 1),
    totalRecords: parseIntegerFlag('total-records', values['total-records'] as string | undefined, 0),
    to: typeof values.to === 'string' ? values.to : undefined,
    table: values.table,
    keepRecord: values['keep-record'] === true ? true : undefined,
    append: values.append === true ? true : undefined,
    baseUrl: typeof values['base-url'] === 'string' ? values['base-url'] : undefined,
    batchSize: parseIntegerFlag('batch-size', values['batch-size'] as string | undefined, 1, 5000),
    attempts: parseIntegerFlag('attempts', values.attempts as string | undefined, 1, 100),
    backoffMs: parseIntegerFlag('backoff-ms', values['backoff-ms'] as string | undefined, 0, 86_400_000),
  });
  if (values.json === true) {
    writeJsonSummary(io, 'export', { ...enqueued, elapsedMs: Date.now() - started });
  } else {
    io.stdout.write(`${enqueued.exportId}\n`);
    const what = enqueued.added ? `enqueued ${counted(enqueued.partitions, 'partition')}` : `already enqueued (${counted(enqueued.partitions, 'partition')}); ${counted(enqueued.retried, 'failed partition')} sent back to work`;
    io.stderr.write(`inference-streams export: ${what}.\n${queueHints(values.queue as string, enqueued.exportId, 'INNERWORKS_API_KEY and, unless the --to URL has it, PGPASSWORD')}`);
  }
  return EXIT.ok;
}
