/** `inference-streams status`: the jobs in a queue, or where one stands, partition by partition; `--watch` follows it to its end. */
import { readStatusDocument, type StatusDocument, type StatusListDocument } from '../../queue/index.js';
import { withoutPassword } from '../../queue/bullmq.js';
import { COMMON_HELP, EXIT, UsageError, parseIntegerFlag, writeJsonSummary, type CliCommand, type CliIO, type OptionValues } from '../command.js';
import { jobListText, jobText } from '../status-text.js';
import { watchStatus } from '../status-watch.js';
import { terminalSafe } from '../terminal-text.js';
import { SERVE_HELP, serveStatusPage } from './status-serve.js';

export const command: CliCommand = {
  name: 'status',
  help: `Usage: inference-streams status --queue redis://HOST:PORT [--limit N] [--json]
       inference-streams status --queue redis://HOST:PORT --id ID [--watch] [--json]
       inference-streams status --queue redis://HOST:PORT [--id ID] --serve PORT [--host HOST]

Without --id, lists the exports and predictions in the queue, newest first: id, kind, state,
records, share done and when each was enqueued (so a lost id is found again).

With --id, prints the state of a queued export or of queued predictions (waiting, active,
completed or failed), its records and pages, how much is done, the records per second and the
time left; for each partition its share done, its range (time for an export, bytes of the input
for predictions), state, records, attempts and the reason of its last failure; then the workers
serving the queue, and for each that paused itself (its API or database unreachable, or its
credentials refused) why, since when and when it checks again. Records count what was committed
to the database, so they only grow. The share done is of each partition's range: of its time
range up to the last record written for an export (the share of records if they are spread
evenly over time), of its bytes for predictions. The time left assumes the rest goes at the pace
so far.

--watch reads the job again every second until it ends (like 'gh run watch'): on a terminal it
redraws in place; otherwise it prints a new block (with --json: a JSON line) only when something
changed. Exit code 0 once the job completed, 1 once it failed (a partition failed for good);
Ctrl-C stops watching (the job goes on) with exit code 130.

Options:
  --queue URL             Redis, redis://[:PASSWORD@]HOST:PORT[/DB] (required; the password is never printed)
  --id ID                 the id printed by 'export --queue' or 'predict --queue'
  --export ID             the same as --id (the older name)
  --watch                 follow the job until it completes (exit 0) or fails (exit 1)
  --limit N               without --id: list the newest N jobs, 1..1000 (default 20)
${SERVE_HELP}

${COMMON_HELP}

Examples:
  inference-streams status --queue redis://127.0.0.1:6379
  inference-streams status --queue redis://127.0.0.1:6379 --id exp-3f2a9c0d41b7e865
  inference-streams status --queue redis://127.0.0.1:6379 --id exp-3f2a9c0d41b7e865 --watch && echo done
  inference-streams status --queue redis://127.0.0.1:6379 --id exp-3f2a9c0d41b7e865 --json | jq .percent
  inference-streams status --queue redis://127.0.0.1:6379 --serve 8080     # a live page of every job
`,
  options: {
    queue: { type: 'string' },
    id: { type: 'string' },
    export: { type: 'string' },
    watch: { type: 'boolean' },
    limit: { type: 'string' },
    // The live page (status-serve.ts).
    serve: { type: 'string' },
    host: { type: 'string' },
  },
  flagOf: { queue: '--queue', exportId: '--id', limit: '--limit' },
  emulatorRefused: 'it reads the queue in Redis and calls no API',
  async run(values: OptionValues, positionals: string[], io: CliIO): Promise<number> {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (typeof values.queue !== 'string') throw new UsageError('--queue redis://HOST:PORT is required');
    const queue = values.queue;
    const id = typeof values.id === 'string' ? values.id : values.export;
    if (typeof values.id === 'string' && typeof values.export === 'string' && values.id !== values.export) throw new UsageError('--export is another name of --id; give one');
    const json = values.json === true;
    // The live page (of the job, or without --id of the queue's jobs): its own block, see status-serve.ts.
    if (typeof values.host === 'string' && values.serve === undefined) throw new UsageError('--host is the interface of the page --serve PORT serves; give --serve too');
    if (typeof values.serve === 'string') {
      if (values.watch === true) throw new UsageError('--watch and --serve both follow the job: give one');
      if (typeof id === 'string' && values.limit !== undefined) throw new UsageError('--limit is for the list of jobs (status without --id)');
      return serveStatusPage(values, queue, typeof id === 'string' ? id : undefined, parseIntegerFlag('limit', values.limit as string | undefined, 1, 1000), io);
    }
    if (typeof id !== 'string') {
      if (values.watch === true) throw new UsageError('--watch follows one job: give its --id (status without --id lists the jobs)');
      return listQueue(queue, parseIntegerFlag('limit', values.limit as string | undefined, 1, 1000), json, io);
    }
    if (values.limit !== undefined) throw new UsageError('--limit is for the list of jobs (status without --id)');
    if (values.watch === true) return watchStatus({ queue, exportId: id, json, io });
    // The same document GET /status.json of the page serves.
    const status = await readStatusDocument({ queue, exportId: id });
    if (json) {
      writeJsonSummary(io, 'status', { ...(status as StatusDocument & Record<string, unknown>) });
      return EXIT.ok;
    }
    io.stdout.write(terminalSafe(jobText(status, Date.now())));
    return EXIT.ok;
  },
};

async function listQueue(queue: string, limit: number | undefined, json: boolean, io: CliIO): Promise<number> {
  // The same document GET /status.json of the page serves (the workers too).
  const document = await readStatusDocument({ queue, limit });
  if (json) writeJsonSummary(io, 'status', { ...(document as StatusListDocument & Record<string, unknown>) });
  else io.stdout.write(terminalSafe(jobListText(document.jobs, withoutPassword(queue), Date.now())));
  return EXIT.ok;
}
