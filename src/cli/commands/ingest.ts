/** `inference-streams ingest`: JSONL or JSON-array objects in, batched SafetyKit adds out. */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { redact } from '../../core/errors.js';
import { dataWriter, type DataRequestEvent, type DataWriter } from '../../safetykit/index.js';
import { objectSizeProblem } from '../../safetykit/data-writer.js';
import { objectProblem } from '../../safetykit/errors.js';
import { COMMON_HELP, EXIT, UsageError, markReported, optionOrEnv, parseIntegerFlag, writeJsonSummary, type CliCommand, type CliIO } from '../command.js';
import { INPUT_FORMAT_OPTION, JSON_PATH_OPTION, inputFormatHelp, openCliInput, parseInputFormat } from '../input.js';
import { systemLimitHint, terminalSafe } from '../terminal-text.js';
import { ProgressLine, formatBytes, formatCount, ratePerSecond } from '../progress.js';
import { withJsonFields } from '../report-error.js';

export const command: CliCommand = {
  name: 'ingest',
  help: `Usage: inference-streams ingest --namespace NS [--in FILE|-] [options]

Reads objects (each with a string "id") as JSONL, or as one JSON array, and adds them to a
SafetyKit namespace with POST /v1/data/{namespace}, in batches of up to 1000, several batches
in flight. Each object is sent as its own JSON text, byte for byte (numbers such as
12345678901234567890 or 1.0 keep every digit); input that is not UTF-8 is refused.

Options:
  --namespace NS       the namespace (required)
  --in FILE|-          input file (default -, stdin)
${inputFormatHelp(23, true)}
  --wait               poll each batch until it succeeds; a failed batch fails the run
  --batch-size N       objects per request, 1..1000 (default 1000)
  --concurrency N      requests in flight, 1..64 (default 4)
  --skip-invalid       drop objects without a string "id", or over the 4 MiB an add request
                       carries (counted), instead of failing
  --base-url URL       API base URL (env SAFETYKIT_BASE_URL, default https://api.safetykit.com)
The API key is read from SAFETYKIT_API_KEY.
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
  options: {
    namespace: { type: 'string' },
    in: { type: 'string' },
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
    const writer = dataWriter({
      apiKey,
      baseUrl: optionOrEnv(values, 'base-url', io.env, 'SAFETYKIT_BASE_URL'),
      namespace,
      batchSize: parseIntegerFlag('batch-size', values['batch-size'] as string | undefined, 1, 1000),
      concurrency: parseIntegerFlag('concurrency', values.concurrency as string | undefined, 1, 64),
      waitForResults: values.wait === true,
      onInvalid: skipInvalid ? 'skip' : 'error',
      signal: io.signal,
    });
    const accepted: DataRequestEvent[] = [];
    writer.on('request', (event: DataRequestEvent) => accepted.push(event));
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
    const progress = new ProgressLine(io.stderr, io.progress, () => {
      const s = writer.stats;
      return `ingest ${namespace}: ${formatCount(s.objects)} objects, ${formatCount(s.batches)} requests (${s.inFlight} in flight), ${formatBytes(s.bytes)}, ${formatCount(ratePerSecond(s.objects, s.elapsedMs))}/s`;
    });
    writer.on('progress', () => progress.update());
    const feed = untilBadItem(input.items);
    try {
      await pipeline(feed.items, writer, { signal: io.signal });
      if (feed.error) throw feed.error;
    } catch (error) {
      progress.clear();
      throw reportFailure(error as Error, { io, namespace, accepted, writer, started, inputFailed: error === feed.error });
    }
    progress.done();
    const summary = writer.summary!;
    if (values.json === true) {
      writeJsonSummary(io, 'ingest', { namespace, format: input.format, ...summary, requests: accepted, elapsedMs: Date.now() - started });
    } else {
      const skipped = summary.skipped ? `, ${formatCount(summary.skipped)} skipped` : '';
      const waited = values.wait === true ? `, ${formatCount(summary.statuses.succeeded ?? 0)} succeeded` : '';
      io.stderr.write(
        `Added ${formatCount(summary.objects)} objects to ${namespace} in ${formatCount(summary.requestIds.length)} requests${skipped}${waited} (${formatCount(ratePerSecond(summary.objects, summary.elapsedMs))} objects/s)\n`,
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
  writer: DataWriter;
  started: number;
  /** The input was bad (the writer finished with everything before it); else the writer failed or the run was interrupted. */
  inputFailed: boolean;
}

/** Requests listed on stderr at most; --json lists them all. */
const LISTED = 20;

/**
 * Say what was sent before a failure: the error, then the request ids and object counts that
 * SafetyKit accepted (on stderr, and in the --json summary). Returns the error, marked as reported.
 */
function reportFailure(error: Error, context: FailureContext): Error {
  const { io, namespace, accepted, writer } = context;
  const interrupted = io.signal.aborted;
  const objects = accepted.reduce((sum, event) => sum + event.count, 0);
  const message = interrupted ? 'interrupted' : redact(error.message);
  io.stderr.write(`inference-streams ingest: ${terminalSafe(message)}${systemLimitHint(error)}\n`);
  if (io.verbose && !interrupted && error.stack) io.stderr.write(`${redact(error.stack)}\n`);
  const sent = `${formatCount(objects)} objects in ${formatCount(accepted.length)} requests`;
  if (context.inputFailed) {
    io.stderr.write(`Nothing after the bad item was sent; every object before it was added to ${namespace}: ${sent}${accepted.length ? ':' : '.'}\n`);
  } else {
    io.stderr.write(`SafetyKit accepted ${sent} to ${namespace} before this${accepted.length ? ':' : '.'} Requests still in flight were cancelled and may or may not have been recorded.\n`);
  }
  const shown = accepted.length <= LISTED ? accepted : [...accepted.slice(0, LISTED / 2), undefined, ...accepted.slice(-LISTED / 2)];
  for (const event of shown) {
    io.stderr.write(event ? `  ${event.requestId}  ${formatCount(event.count)} objects\n` : `  … ${formatCount(accepted.length - LISTED)} more (--json lists every request)\n`);
  }
  // The --json failure line (report-error.ts) carries what was sent before the error.
  const stats = writer.stats;
  withJsonFields(error, {
    namespace,
    objects,
    requestIds: accepted.map((event) => event.requestId),
    requests: accepted,
    skipped: stats.skipped,
    retries: stats.retries,
    bytes: stats.bytes,
    elapsedMs: Date.now() - context.started,
  });
  return markReported(error);
}
