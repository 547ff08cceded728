/** `inference-streams worker`: run partition jobs of queued exports until SIGTERM or Ctrl-C. */
import { describeUrl, redact } from '../../core/errors.js';
import { INNERWORKS_DEFAULT_BASE_URL } from '../../innerworks/client.js';
import { withoutPassword } from '../../queue/bullmq.js';
import { exportWorker, type WorkerEvent } from '../../queue/index.js';
import { COMMON_HELP, UsageError, interruptedExitCode, optionOrEnv, parseIntegerFlag, type CliCommand, type CliIO, type OptionValues } from '../command.js';
import { formatCount } from '../progress.js';

export const command: CliCommand = {
  name: 'worker',
  help: `Usage: inference-streams worker --queue redis://HOST:PORT [options]

Takes partition jobs of exports enqueued with 'export --queue' and exports each time range into
the export's PostgreSQL table, saving the position with every page. Run one or more on each
machine. On SIGTERM or Ctrl-C a worker finishes the page in hand, commits it, hands its jobs back
to the queue and exits. A worker that dies (kill -9, a lost machine) stops renewing its jobs'
locks: after --lock-duration another worker takes them over and resumes from the saved position.
It also runs the partitions of predictions enqueued with 'predict --queue': each predicts its
byte range of the input file (which it reads at the enqueued path: a shared volume) into the
PostgreSQL table, with REINFER_TOKEN from its own environment.

At startup a worker prints the queue and the API base URL it serves, and refuses to start when
Redis or the API does not answer or the API refuses its key. When the API is unreachable or
refuses the key, the worker checks it again at once: if it answers, the failure was the job's
and uses an attempt. Otherwise, and when the database is unreachable or refuses the login, the
job goes back to the queue without using one (waits of 1 s doubling to 15 s), at most --max-hand-backs times or for --hand-back-window
per job, after which such failures use its attempts. Three failures of the worker's own settings in a row (its API
URL or key, its database password) pause it: it says why here and in 'status', probes what
failed (waits of 1 s doubling to 5 s) and resumes when it works again (a database password
pause ends after 10 minutes at the latest). An address the export names never pauses a worker.

Options:
  --queue URL             Redis, redis://[:PASSWORD@]HOST:PORT[/DB] (required; Redis >= 6.2)
  --concurrency N         partition jobs run at once by this worker, 1..64 (default 1)
  --stalled-interval MS   how often to look for jobs of dead workers (default 30000)
  --lock-duration MS      how long a job's lock lasts unless renewed: a dead worker's job waits
                          this long before another takes it (default 30000)
  --base-url URL          Innerworks base URL when the export names none (env INNERWORKS_BASE_URL)
  --max-hand-backs N      times one job may be handed back without using an attempt, 0..1000
                          (default 10)
  --hand-back-window MS   time since a job's first hand-back after which such failures use its
                          attempts; also the longest database password pause (default 600000)
  --metrics-port PORT     serve GET /metrics in the Prometheus text format on this port, 0..65535
                          (0: any free port; the URL is printed): records and pages by
                          destination, requests, jobs active/finished, paused. Needs
                          npm install @opentelemetry/sdk-metrics @opentelemetry/exporter-prometheus
                          (default: no endpoint)
  --metrics-host HOST     address for --metrics-port (default 127.0.0.1; the endpoint has no
                          authentication: widen it, e.g. 0.0.0.0, only on a trusted network)

Environment (credentials are never stored in Redis; each worker reads its own):
  INNERWORKS_API_KEY      API key sent as x-api-key (required)
  PGPASSWORD, PGPASSFILE  the database password (or ~/.pgpass), as in libpq
  REINFER_TOKEN           for 'predict --queue' jobs: the Reinfer API token
  REINFER_ENDPOINT        for 'predict --queue' jobs enqueued without --endpoint: the tenant endpoint

${COMMON_HELP}

Examples:
  INNERWORKS_API_KEY=... PGPASSWORD=... inference-streams worker --queue redis://queue.internal:6379 --concurrency 2
  inference-streams worker --queue redis://127.0.0.1:6379 --stalled-interval 1000 --lock-duration 5000
  inference-streams worker --queue redis://queue.internal:6379 --metrics-port 9464 --metrics-host 0.0.0.0
`,
  options: {
    queue: { type: 'string' },
    concurrency: { type: 'string' },
    'stalled-interval': { type: 'string' },
    'lock-duration': { type: 'string' },
    'base-url': { type: 'string' },
    'max-hand-backs': { type: 'string' },
    'hand-back-window': { type: 'string' },
    'metrics-port': { type: 'string' },
    'metrics-host': { type: 'string' },
  },
  flagOf: { queue: '--queue', concurrency: '--concurrency', stalledInterval: '--stalled-interval', lockDuration: '--lock-duration', maxHandBacks: '--max-hand-backs', handBackWindowMs: '--hand-back-window', metricsPort: '--metrics-port', metricsHost: '--metrics-host', apiKey: 'INNERWORKS_API_KEY' },
  run: runWorker,
};

async function runWorker(values: OptionValues, positionals: string[], io: CliIO): Promise<number> {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (typeof values.queue !== 'string') throw new UsageError('--queue redis://HOST:PORT is required');
  const apiKey = io.env.INNERWORKS_API_KEY;
  if (!apiKey) throw new UsageError('set INNERWORKS_API_KEY to your API key (workers read it from their own environment, never from Redis)');
  const baseUrl = optionOrEnv(values, 'base-url', io.env, 'INNERWORKS_BASE_URL');
  const options = {
    signal: io.signal,
    queue: values.queue,
    apiKey,
    baseUrl,
    concurrency: parseIntegerFlag('concurrency', values.concurrency as string | undefined, 1, 64),
    stalledInterval: parseIntegerFlag('stalled-interval', values['stalled-interval'] as string | undefined, 100, 3_600_000),
    lockDuration: parseIntegerFlag('lock-duration', values['lock-duration'] as string | undefined, 100, 3_600_000),
    maxHandBacks: parseIntegerFlag('max-hand-backs', values['max-hand-backs'] as string | undefined, 0, 1000),
    handBackWindowMs: parseIntegerFlag('hand-back-window', values['hand-back-window'] as string | undefined, 1000, 86_400_000),
    metricsPort: parseIntegerFlag('metrics-port', values['metrics-port'] as string | undefined, 0, 65_535),
    metricsHost: values['metrics-host'] as string | undefined,
    onEvent: workerLog(io),
  };
  // Said before the checks, so that a worker that cannot start has said what it tried.
  io.stderr.write(`inference-streams worker: starting: checking Redis at ${withoutPassword(values.queue)} and the Innerworks API at ${describeUrl(baseUrl ?? INNERWORKS_DEFAULT_BASE_URL).replace(/\/$/, '')}\n`);
  // The signal also stops a startup still waiting for Redis (up to 10 s): Ctrl-C must not wait for it.
  const starting = exportWorker(options);
  let worker;
  try {
    worker = await starting;
  } catch (error) {
    if (!io.signal.aborted) throw error;
    io.stderr.write('inference-streams worker: stopped before it started\n');
    return interruptedExitCode(io);
  }
  io.stderr.write(`inference-streams worker: serving queue ${worker.queue} (export partitions), Innerworks API ${worker.baseUrl} (key accepted) unless an export names another\n`);
  if (worker.metricsUrl) io.stderr.write(`inference-streams worker: serving metrics at ${worker.metricsUrl} (Prometheus text)\n`);
  io.stderr.write(`inference-streams worker: waiting for jobs (pid ${process.pid}); SIGTERM or Ctrl-C stops after the page in hand\n`);
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) return resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  io.stderr.write('inference-streams worker: stopping: finishing the pages in hand…\n');
  await worker.close();
  io.stderr.write('inference-streams worker: stopped\n');
  // Stopped by a signal, as a server is: 130 after Ctrl-C, 143 after SIGTERM.
  return interruptedExitCode(io);
}

/** How often a worker paused for the same reason says it still is, ms (each probe would be every 5 s). */
const STILL_PAUSED_EVERY_MS = 60_000;

/** The worker's events as stderr lines; a long pause is repeated once a minute, or when its reason changes. */
function workerLog(io: CliIO): (event: WorkerEvent) => void {
  let stillPaused: { said: string; at: number } | undefined;
  return (event) => {
    if (event.type === 'paused' && event.lastProbeError !== undefined) {
      if (stillPaused && stillPaused.said === event.lastProbeError && Date.now() - stillPaused.at < STILL_PAUSED_EVERY_MS) return;
      stillPaused = { said: event.lastProbeError, at: Date.now() };
    } else if (event.type === 'resumed') {
      stillPaused = undefined;
    }
    log(io, event);
  };
}

function log(io: CliIO, event: WorkerEvent): void {
  if (event.type === 'error') return void io.stderr.write(`inference-streams worker: ${redact(event.error.message)}\n`);
  if (event.type === 'paused') {
    const again = `checking again in ${Math.ceil(event.nextProbeInMs / 1000)} s`;
    if (event.lastProbeError === undefined) return void io.stderr.write(`inference-streams worker: paused, taking no new jobs: ${redact(event.reason)}; ${again}\n`);
    return void io.stderr.write(`inference-streams worker: still paused: ${redact(event.lastProbeError)}; ${again}\n`);
  }
  if (event.type === 'redis') {
    return void io.stderr.write(
      event.state === 'unreachable'
        ? `inference-streams worker: Redis at ${event.queue} went away; waiting for it (reconnecting every 2 s at most), jobs in hand wait too\n`
        : `inference-streams worker: Redis at ${event.queue} is back after ${Math.round(event.downMs / 1000)} s\n`,
    );
  }
  if (event.type === 'resumed') return void io.stderr.write(`inference-streams worker: resumed after ${Math.round(event.pausedMs / 1000)} s paused: taking jobs again\n`);
  const which = 'partition' in event ? `${event.exportId} partition ${event.partition}` : event.exportId;
  switch (event.type) {
    case 'started':
      return void io.stderr.write(`${which}: started (attempt ${event.attempt})\n`);
    case 'completed':
      return void io.stderr.write(`${which}: completed, ${formatCount(event.progress.records)} records in ${formatCount(event.progress.pages)} pages\n`);
    case 'stopped':
      return void io.stderr.write(`${which}: handed back to the queue after ${formatCount(event.progress.records)} records\n`);
    case 'failed':
      return void io.stderr.write(`${which}: failed: ${redact(event.error.message)}\n`);
    case 'handed-back':
      return void io.stderr.write(`${which}: handed back to the queue, no attempt used (${event.handBacks} of at most ${event.maxHandBacks}): ${redact(event.reason)}\n`);
    case 'finished':
      return void io.stderr.write(`${which}: export finished, ${formatCount(event.records)} records\n`);
    case 'page':
      if (io.verbose) io.stderr.write(`${which}: ${formatCount(event.progress.records)} records\n`);
  }
}
