/**
 * One partition job of queued predictions: `predictInto` over the job's byte range of the input,
 * into the shared table, resuming from the position saved there. The token is the worker's own
 * (`REINFER_TOKEN`), never the job's.
 */
import { AbortError, ConfigError } from '../core/errors.js';
import { identityChange, readFileIdentity } from '../core/file-identity.js';
import type { PredictionColumn } from '../destinations/columns.js';
import { predictInto, savedByteOffset } from '../reinfer/predict-into.js';
import type { PartitionProgress, PredictPartitionJobData } from './jobs.js';
import { ownFailure } from './own-failure.js';

/** How a partition run ended: its totals, and whether `signal` stopped it before the end. */
export interface PredictPartitionOutcome {
  position: PartitionProgress;
  stopped: boolean;
}

export async function predictPartition(data: PredictPartitionJobData, signal: AbortSignal, onPage: (progress: PartitionProgress) => Promise<void>, previous: PartitionProgress): Promise<PredictPartitionOutcome> {
  // Another file at the path (or one the worker sees otherwise) would be cut at other lines.
  const found = await readFileIdentity(data.input).catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError('input', `cannot be read on this worker (${error.code ?? error.message}); queued predictions need the file at the same path on every worker (a shared volume)`, data.input);
  });
  const change = identityChange(data.identity, found);
  if (change !== undefined) throw new ConfigError('input', `is not the file that was enqueued (${change}); enqueue it again`, data.input);
  let last = previous;
  const { predict, target } = data;
  try {
    const summary = await predictInto({
      input: data.input,
      ranges: data.ranges,
      partition: data.partition,
      to: target.to,
      table: target.table,
      append: target.append,
      exportId: data.exportId,
      ...(predict.endpoint !== undefined ? { endpoint: predict.endpoint } : {}),
      project: predict.project,
      dataset: predict.dataset,
      version: predict.version,
      mode: predict.mode,
      transformTag: predict.transformTag,
      includeComments: predict.includeComments,
      threshold: predict.threshold,
      labels: predict.labels,
      columns: predict.columns as PredictionColumn[] | undefined,
      idField: predict.idField,
      keepInput: predict.keepInput,
      skipInvalid: predict.skipInvalid,
      batchSize: predict.batchSize,
      concurrency: predict.concurrency,
      maxConcurrency: predict.maxConcurrency,
      timeoutMs: predict.timeoutMs,
      signal,
      onPage: async (position) => {
        const positionByte = savedByteOffset(position);
        last = { ...last, records: position.records, pages: position.pages, done: position.done, ...(positionByte === undefined ? {} : { positionByte }) };
        await onPage(last);
      },
    });
    return { position: { ...last, records: summary.records, done: true }, stopped: false };
  } catch (error) {
    if (signal.aborted && error instanceof AbortError) return { position: last, stopped: true };
    throw asJobFailure(error);
  }
}

/**
 * A Reinfer request that could not reach the tenant, or whose token was refused, as a failure of
 * the job (it uses an attempt): the worker's hand-back and self-pause probe the Innerworks API,
 * which says nothing about Reinfer. The message (and the error, as `original`) is kept; a
 * database outage is left as it is, so the worker hands the job back as it does for exports.
 */
function asJobFailure(error: unknown): unknown {
  if (!(error instanceof Error) || ownFailure(error, { baseUrl: '', to: '' })?.kind !== 'api') return error;
  return Object.assign(new Error(error.message), { name: error.name, original: error });
}
