/** `inference-streams ingest`: JSONL or JSON-array objects in, batched SafetyKit adds out. */
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConfigError, JsonlError, redact } from '../../core/errors.js';
import { LockedError } from '../../core/lock-file.js';
import { isDescriptorPath } from '../../core/file-identity.js';
import { dataWriter, ingestFile, type DataRequestEvent, type DataWriterOptions, type DataWriterStats, type DataWriterSummary, type IngestFileSummary } from '../../safetykit/index.js';
import { objectSizeProblem } from '../../safetykit/data-writer.js';
import { objectProblem } from '../../safetykit/errors.js';
import { COMMON_HELP, EXIT, UsageError, markReported, optionOrEnv, parseIntegerFlag, writeJsonSummary, type CliCommand, type CliIO } from '../command.js';
import { INPUT_FORMAT_OPTION, JSON_PATH_OPTION, inputFormatHelp, openCliInput, parseInputFormat } from '../input.js';
import { systemLimitHint, terminalSafe } from '../terminal-text.js';
import { commandHint, copyableCommand } from '../command-line.js';
import { PROGRESS_HELP, PROGRESS_OPTION, formatBytes, formatCount, ratePerSecond, startProgress } from '../progress.js';
import { withJsonFields } from '../report-error.js';
import { counted } from '../../core/plural.js';

export const command: CliCommand = {
  name: 'ingest',
  help: `Usage: inference-streams ingest --namespace NS [--in FILE|-] [options]

Reads objects (each with a string "id") as JSONL, or as one JSON array, and adds them to a
SafetyKit namespace with POST /v1/data/{namespace}, in batches of up to 1000, several batches
in flight. Each object is sent as its own JSON text, byte for byte (numbers such as
12345678901234567890 or 1.0 keep every digit); input that is not UTF-8 is refused.

Re-running: an ingest of a regular JSONL file resumes. The position in the file up to which
SafetyKit accepted every object (in input order) is kept in FILE.ingest-state.json (or --state)
as batches are accepted; run the same command again after a crash, kill -9 or Ctrl-C and it
starts there ("resuming from line N"): at most the batches in flight at the crash are sent again,
and a finished ingest run again sends nothing. If the file changed since (size, modification time,
or its first or last 64 KiB) or --namespace differs, the run is refused; delete the state file to
ingest the file again from the start. While it runs, FILE.ingest-state.json.lock keeps a second
run of the same ingest from starting (refused, naming the pid of the first).
Not resumable (each run sends everything again): a JSON array or {"data": [...]} file, --in -
(stdin), a pipe, a device, any path under /dev or /proc (--in /dev/stdin too).

Options:
  --namespace NS       the namespace (required)
  --in FILE|-          input file (default -: stdin, as for predict; import needs --in named)
  --state FILE         resume state of a JSONL file's ingest, and its lock FILE.lock (default:
                       the --in file + .ingest-state.json)
${inputFormatHelp(23, true)}
  --wait               poll each batch until it succeeds; a failed batch fails the run
  --batch-size N       objects per request, 1..1000 (default 1000)
  --concurrency N      requests in flight, 1..64 (default 4)
  --skip-invalid       drop objects without a string "id", or over the 4 MiB an add request
                       carries (counted), instead of failing
  --base-url URL       API base URL (env SAFETYKIT_BASE_URL, default https://api.safetykit.com)
The API key is read from SAFETYKIT_API_KEY.
${PROGRESS_HELP}

${COMMON_HELP}

Output: a summary line on stderr (or the JSON summary on stdout with --json).
A bad line or element stops the run (exit 1) after the objects before it are added; the
request ids and object counts accepted so far are printed (and listed in the --json summary).

Examples:
  SAFETYKIT_API_KEY=... inference-streams ingest --namespace listings --in listings.jsonl
  inference-streams ingest --namespace listings --in listings.json      # one JSON array
  cat users.jsonl | inference-streams ingest --namespace users --wait --json
  inference-streams ingest --emulator --namespace demo --in items.jsonl
`,
  // ingestFile()'s file is --in.
  flagOf: { file: 'in' },
  options: {
    ...PROGRESS_OPTION,
    namespace: { type: 'string' },
    in: { type: 'string' },
    state: { type: 'string' },
    ...INPUT_FORMAT_OPTION,
    ...JSON_PATH_OPTION,
    wait: { type: 'boolean' },
    'batch-size': { type: 'string' },
    concurrency: { type: 'string' },
    'skip-invalid': { type: 'boolean' },
    'base-url': { type: 'string' },
  },
  async run(values, _positionals, io) {
    const started = Date.now();
    const namespace = values.namespace;
    if (typeof namespace !== 'string') throw new UsageError('--namespace is required');
    const apiKey = io.env.SAFETYKIT_API_KEY;
    if (!apiKey) throw new UsageError('set SAFETYKIT_API_KEY (or add --emulator to try a local emulator)');
    const inPath = typeof values.in === 'string' ? values.in : '-';
    const format = parseInputFormat(values['input-format']);
    const skipInvalid = values['skip-invalid'] === true;
    const statePath = typeof values.state === 'string' ? values.state : undefined;
    const writerOptions: DataWriterOptions = {
      apiKey,
      baseUrl: optionOrEnv(values, 'base-url', io.env, 'SAFETYKIT_BASE_URL'),
      namespace,
      batchSize: parseIntegerFlag('batch-size', values['batch-size'] as string | undefined, 1, 1000),
      concurrency: parseIntegerFlag('concurrency', values.concurrency as string | undefined, 1, 64),
      waitForResults: values.wait === true,
      onInvalid: skipInvalid ? 'skip' : 'error',
      signal: io.signal,
    };
    // Checked here rather than in the writer, so the error names the line or element, and so a
    // bad item ends the input cleanly (everything before it is sent) instead of cancelling
    // batches in flight, which would leave unknown whether SafetyKit recorded them.
    // keepText: each object is sent as its own text (never re-serialized, so every digit and key arrives).
    const input = await openCliInput({
      path: inPath,
      stdin: io.stdin,
      format,
      jsonPath: values['json-path'],
      objectsOnly: !skipInvalid,
      validate: skipInvalid ? undefined : (value, text) => objectProblem(value) ?? objectSizeProblem(text),
      keepText: true,
    });
    const resumable = input.format === 'jsonl' && inPath !== '-' && (await isRegularFile(inPath));
    if (statePath !== undefined && !resumable) {
      input.items.destroy();
      throw new UsageError('--state needs --in FILE, a regular JSONL file: a JSON array, stdin, a pipe or a device (anything under /dev or /proc) is not resumed');
    }
    const accepted: DataRequestEvent[] = [];
    let stats: DataWriterStats | undefined;
    let earlierLines = 0;
    const progress = startProgress(io, 'ingest', () => {
      if (!stats) return { text: `ingest ${namespace}: starting`, records: 0, recordsThisRun: 0 };
      const s = stats;
      const rate = ratePerSecond(s.objects, s.elapsedMs);
      const resumed = earlierLines > 0 ? ` (resumed after line ${formatCount(earlierLines)})` : '';
      const text = `ingest ${namespace}: ${counted(s.objects, 'object')}${resumed}, ${counted(s.batches, 'request')} (${s.inFlight} in flight), ${formatBytes(s.bytes)} sent, ${formatCount(rate)}/s`;
      return { text, records: s.objects, recordsThisRun: s.objects, ratePerSecond: rate, position: `${formatBytes(s.bytes)} sent`, retries: s.retries };
    });
    const onProgress = (next: DataWriterStats) => {
      stats = next;
      progress.update();
    };
    const failure = { io, namespace, accepted, stats: () => stats, started, stateFile: undefined as string | undefined, resumeCommand: commandHint(copyableCommand(['ingest'], values)) };
    let summary: DataWriterSummary & Partial<IngestFileSummary>;
    if (resumable) {
      // The file is read again from the saved position, line by line with its offsets.
      input.items.destroy();
      failure.stateFile = statePath ?? `${inPath}.ingest-state.json`;
      try {
        summary = await ingestFile({
          ...writerOptions,
          file: inPath,
          stateFile: statePath,
          onResume: (from) => {
            earlierLines = from.line;
            progress.clear();
            io.stderr.write(`resuming from line ${from.line + 1} of ${terminalSafe(inPath)} (${from.line === 1 ? 'the line' : `the ${formatCount(from.line)} lines`} before it accepted by an earlier run; state ${terminalSafe(failure.stateFile!)})\n`);
          },
          onRequest: (event) => accepted.push(event),
          onProgress,
        });
      } catch (error) {
        progress.clear();
        // Refused before anything was sent (a changed file, another namespace, a run holding the lock): the usual report names the flag.
        if (error instanceof ConfigError || error instanceof LockedError) throw error;
        throw reportFailure(error as Error, { ...failure, inputFailed: error instanceof JsonlError });
      }
    } else {
      const writer = dataWriter(writerOptions);
      writer.on('request', (event: DataRequestEvent) => accepted.push(event));
      writer.on('progress', onProgress);
      const feed = untilBadItem(input.items);
      try {
        await pipeline(feed.items, writer, { signal: io.signal });
        if (feed.error) throw feed.error;
      } catch (error) {
        progress.clear();
        stats = writer.stats;
        throw reportFailure(error as Error, { ...failure, inputFailed: error === feed.error });
      }
      summary = writer.summary!;
    }
    progress.done();
    const resume = resumable ? { resumable, resumed: summary.resumed, resumedFrom: summary.resumedFrom, position: summary.position, totalObjects: summary.totalObjects, stateFile: summary.stateFile } : { resumable };
    if (values.json === true) {
      writeJsonSummary(io, 'ingest', { namespace, format: input.format, ...summary, ...resume, requests: accepted, elapsedMs: Date.now() - started });
    } else if (resumable && summary.resumed && summary.objects === 0 && summary.skipped === 0) {
      io.stderr.write(`Nothing to send: every object of ${terminalSafe(inPath)} was added to ${namespace} by an earlier run (${counted(summary.totalObjects ?? 0, 'object')}; state ${terminalSafe(summary.stateFile ?? '')}; delete it to send the file again)\n`);
    } else {
      const skipped = summary.skipped ? `, ${formatCount(summary.skipped)} skipped` : '';
      const waited = values.wait === true ? `, ${formatCount(summary.statuses.succeeded ?? 0)} succeeded` : '';
      const earlier = summary.resumed ? ` (${formatCount(summary.totalObjects ?? 0)} in total with the earlier runs)` : '';
      io.stderr.write(
        `Added ${counted(summary.objects, 'object')} to ${namespace} in ${counted(summary.requestIds.length, 'request')}${skipped}${waited}${earlier} (${formatCount(ratePerSecond(summary.objects, summary.elapsedMs))} objects/s)\n`,
      );
    }
    return EXIT.ok;
  },
};

/**
 * The input's items, ending cleanly at the first bad one (its error kept in `error`): the writer
 * then finishes normally, so every object before the bad one is added and accounted for.
 */
function untilBadItem(items: Readable): { items: () => AsyncGenerator<unknown>; error: Error | undefined } {
  const feed = {
    error: undefined as Error | undefined,
    async *items(): AsyncGenerator<unknown> {
      try {
        for await (const item of items) yield item;
      } catch (error) {
        feed.error = error as Error;
      }
    },
  };
  return feed;
}

interface FailureContext {
  io: CliIO;
  namespace: string;
  accepted: DataRequestEvent[];
  /** The writer's last counters (undefined before its first request). */
  stats: () => DataWriterStats | undefined;
  started: number;
  /** The resume state of a resumable ingest. */
  stateFile: string | undefined;
  /** The input was bad (the writer finished with everything before it); else the writer failed or the run was interrupted. */
  inputFailed: boolean;
  /** This run's command, copyable (printed to resume a resumable ingest). */
  resumeCommand: string;
}

/** Requests listed on stderr at most; --json lists them all. */
const LISTED = 20;

/**
 * Say what was sent before a failure: the error, then the request ids and object counts that
 * SafetyKit accepted (on stderr, and in the --json summary). Returns the error, marked as reported.
 */
function reportFailure(error: Error, context: FailureContext): Error {
  const { io, namespace, accepted } = context;
  const interrupted = io.signal.aborted;
  const objects = accepted.reduce((sum, event) => sum + event.count, 0);
  const message = interrupted ? 'interrupted' : redact(error.message);
  io.stderr.write(`inference-streams ingest: ${terminalSafe(message)}${systemLimitHint(error)}\n`);
  if (io.verbose && !interrupted && error.stack) io.stderr.write(`${redact(error.stack)}\n`);
  const sent = `${counted(objects, 'object')} in ${counted(accepted.length, 'request')}`;
  if (context.inputFailed) {
    io.stderr.write(`Nothing after the bad item was sent; every object before it was added to ${namespace}: ${sent}${accepted.length ? ':' : '.'}\n`);
  } else {
    io.stderr.write(`SafetyKit accepted ${sent} to ${namespace} before this${accepted.length ? ':' : '.'} Requests still in flight were cancelled and may or may not have been recorded.\n`);
  }
  if (context.stateFile !== undefined) {
    io.stderr.write(`Run the same command again to resume: what SafetyKit acknowledged, in input order, is not sent again (state ${terminalSafe(context.stateFile)}).\n`);
    io.stderr.write(`To resume: ${terminalSafe(context.resumeCommand)}\n`);
  }
  const shown = accepted.length <= LISTED ? accepted : [...accepted.slice(0, LISTED / 2), undefined, ...accepted.slice(-LISTED / 2)];
  for (const event of shown) {
    io.stderr.write(event ? `  ${event.requestId}  ${counted(event.count, 'object')}\n` : `  … ${formatCount(accepted.length - LISTED)} more (--json lists every request)\n`);
  }
  // The --json failure line (report-error.ts) carries what was sent before the error.
  const stats = context.stats();
  withJsonFields(error, {
    namespace,
    objects,
    requestIds: accepted.map((event) => event.requestId),
    requests: accepted,
    skipped: stats?.skipped ?? 0,
    retries: stats?.retries ?? 0,
    bytes: stats?.bytes ?? 0,
    ...(context.stateFile !== undefined ? { stateFile: context.stateFile } : {}),
    elapsedMs: Date.now() - context.started,
  });
  return markReported(error);
}

/** A regular file, read again from a saved position; anything else (a pipe, a device, a path under /dev or /proc) is read once. */
async function isRegularFile(path: string): Promise<boolean> {
  return (await stat(path)).isFile() && !isDescriptorPath(path);
}
