/** `inference-streams status`: where a queued export stands, partition by partition. */
import { exportStatus, type WorkerStatus } from '../../queue/index.js';
import { COMMON_HELP, EXIT, UsageError, writeJsonSummary, type CliCommand, type CliIO, type OptionValues } from '../command.js';
import { formatCount } from '../progress.js';
import { counted } from '../../core/plural.js';
import { afterUntilLine } from './after-until.js';

export const command: CliCommand = {
  name: 'status',
  help: `Usage: inference-streams status --queue redis://HOST:PORT --id ID [--json]

Prints the state of a queued export or of queued predictions (waiting, active, completed or
failed), its records and pages, and for each partition its range (time for an export, bytes of
the input for predictions), state, records, attempts and the reason of its last failure;
then the workers serving the queue, and for each that paused itself (its API or database
unreachable, or its credentials refused) why, since when and when it checks again. Records count
what was committed to the database, so they only grow.

Options:
  --queue URL             Redis, redis://[:PASSWORD@]HOST:PORT[/DB] (required)
  --id ID                 the id printed by 'export --queue' or 'predict --queue' (required)
  --export ID             the same as --id (the older name)

${COMMON_HELP}

Examples:
  inference-streams status --queue redis://127.0.0.1:6379 --id exp-3f2a9c0d41b7e865
  inference-streams status --queue redis://127.0.0.1:6379 --id exp-3f2a9c0d41b7e865 --json | jq .state
`,
  options: {
    queue: { type: 'string' },
    id: { type: 'string' },
    export: { type: 'string' },
  },
  flagOf: { queue: '--queue', exportId: '--id' },
  emulatorRefused: 'it reads the queue in Redis and calls no API',
  async run(values: OptionValues, positionals: string[], io: CliIO): Promise<number> {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (typeof values.queue !== 'string') throw new UsageError('--queue redis://HOST:PORT is required');
    const id = typeof values.id === 'string' ? values.id : values.export;
    if (typeof values.id === 'string' && typeof values.export === 'string' && values.id !== values.export) throw new UsageError('--export is another name of --id; give one');
    if (typeof id !== 'string') throw new UsageError('--id ID is required (export --queue and predict --queue print it)');
    const started = Date.now();
    const status = await exportStatus({ queue: values.queue, exportId: id });
    if (values.json === true) {
      writeJsonSummary(io, 'status', { ...status, elapsedMs: Date.now() - started });
      return EXIT.ok;
    }
    const lines = [`${status.kind === 'predict' ? `Predictions of ${status.input}` : 'Export'} ${status.exportId}: ${status.state}, ${counted(status.records, 'record')} in ${counted(status.pages, 'page')}`];
    const afterEnd = afterUntilLine(status.endTime, status.resultsAfterEnd);
    if (afterEnd) lines.push(`${afterEnd.trimEnd()} (when the export finished)`);
    lines.push('');
    for (const p of status.partitions) {
      const range = p.startByte !== undefined ? `bytes ${p.startByte} .. ${p.endByte}` : `${new Date(p.startTime!).toISOString()} .. ${new Date(p.endTime!).toISOString()}`;
      const why = p.failedReason ? ` (${p.state === 'failed' ? 'failed' : 'last failure'}: ${p.failedReason})` : '';
      lines.push(`  ${String(p.partition).padStart(4)}  ${p.state.padEnd(9)}  ${formatCount(p.records).padStart(12)} ${p.records === 1 ? 'record ' : 'records'}  ${range}  attempts ${p.attemptsMade}${why}`);
    }
    lines.push('', workersLine(status.workers));
    for (const w of status.workers) {
      if (w.state !== 'paused') continue;
      const since = w.pausedSince === undefined ? '' : ` since ${new Date(w.pausedSince).toISOString()}`;
      const next = w.nextProbeAt === undefined ? '' : `; checks again in ${Math.max(0, Math.ceil((w.nextProbeAt - Date.now()) / 1000))} s`;
      lines.push(`  ${w.id}  paused${since}: ${w.pausedReason ?? 'no reason given'}${next}`);
    }
    io.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  },
};

function workersLine(workers: readonly WorkerStatus[]): string {
  if (workers.length === 0) return 'Workers: none (no worker reported in the last few seconds)';
  const paused = workers.filter((w) => w.state === 'paused').length;
  return `Workers: ${workers.length} (${workers.length - paused} running, ${paused} paused by themselves)`;
}
