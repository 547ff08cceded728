/** `inference-streams status`: where a queued export stands, partition by partition. */
import { exportStatus, type WorkerStatus } from '../../queue/index.js';
import { COMMON_HELP, EXIT, UsageError, writeJsonSummary, type CliCommand, type CliIO, type OptionValues } from '../command.js';
import { formatCount } from '../progress.js';

export const command: CliCommand = {
  name: 'status',
  help: `Usage: inference-streams status --queue redis://HOST:PORT --export ID [--json]

Prints the export's state (waiting, active, completed or failed), its records and pages, and for
each partition its time range, state, records, attempts and the reason of its last failure;
then the workers serving the queue, and for each that paused itself (its API or database
unreachable, or its credentials refused) why, since when and when it checks again. Records count
what was committed to the database, so they only grow.

Options:
  --queue URL             Redis, redis://[:PASSWORD@]HOST:PORT[/DB] (required)
  --export ID             the export id printed by 'export --queue' (required)

${COMMON_HELP}

Examples:
  inference-streams status --queue redis://127.0.0.1:6379 --export exp-3f2a9c0d41b7e865
  inference-streams status --queue redis://127.0.0.1:6379 --export exp-3f2a9c0d41b7e865 --json | jq .state
`,
  options: {
    queue: { type: 'string' },
    export: { type: 'string' },
  },
  flagOf: { queue: '--queue', exportId: '--export' },
  async run(values: OptionValues, positionals: string[], io: CliIO): Promise<number> {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (typeof values.queue !== 'string') throw new UsageError('--queue redis://HOST:PORT is required');
    if (typeof values.export !== 'string') throw new UsageError('--export ID is required (export --queue prints it)');
    const started = Date.now();
    const status = await exportStatus({ queue: values.queue, exportId: values.export });
    if (values.json === true) {
      writeJsonSummary(io, 'status', { ...status, elapsedMs: Date.now() - started });
      return EXIT.ok;
    }
    const lines = [`Export ${status.exportId}: ${status.state}, ${formatCount(status.records)} records in ${formatCount(status.pages)} pages`, ''];
    for (const p of status.partitions) {
      const range = `${new Date(p.startTime).toISOString()} .. ${new Date(p.endTime).toISOString()}`;
      const why = p.failedReason ? ` (${p.state === 'failed' ? 'failed' : 'last failure'}: ${p.failedReason})` : '';
      lines.push(`  ${String(p.partition).padStart(4)}  ${p.state.padEnd(9)}  ${formatCount(p.records).padStart(12)} records  ${range}  attempts ${p.attemptsMade}${why}`);
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
