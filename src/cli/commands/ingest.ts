/** `inference-streams ingest`: JSONL objects in, batched SafetyKit adds out. */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { parseJsonl } from '../../core/jsonl.js';
import { dataWriter } from '../../safetykit/index.js';
import { COMMON_HELP, EXIT, UsageError, optionOrEnv, parseIntegerFlag, type CliCommand } from '../command.js';
import { ProgressLine, formatBytes, formatCount, ratePerSecond } from '../progress.js';

export const command: CliCommand = {
  name: 'ingest',
  summary: 'Add JSONL objects to a SafetyKit namespace in batches',
  help: `Usage: inference-streams ingest --namespace NS [--in FILE|-] [options]

Reads JSONL objects (each with a string "id") and adds them to a SafetyKit namespace with
POST /v1/data/{namespace}, in batches of up to 1000, several batches in flight.

Options:
  --namespace NS       the namespace (required)
  --in FILE|-          JSONL input (default -, stdin)
  --wait               poll each batch until it succeeds; a failed batch fails the run
  --batch-size N       objects per request, 1..1000 (default 1000)
  --concurrency N      requests in flight, 1..64 (default 4)
  --skip-invalid       drop objects without a string "id" (counted) instead of failing
  --base-url URL       API base URL (env SAFETYKIT_BASE_URL, default https://api.safetykit.com)
The API key is read from SAFETYKIT_API_KEY.
${COMMON_HELP}

Output: a summary line on stderr (or the JSON summary on stdout with --json).

Examples:
  SAFETYKIT_API_KEY=... inference-streams ingest --namespace listings --in listings.jsonl
  cat users.jsonl | inference-streams ingest --namespace users --wait --json
  inference-streams ingest --emulator --namespace demo --in items.jsonl
`,
  options: {
    namespace: { type: 'string' },
    in: { type: 'string' },
    wait: { type: 'boolean' },
    'batch-size': { type: 'string' },
    concurrency: { type: 'string' },
    'skip-invalid': { type: 'boolean' },
    'base-url': { type: 'string' },
  },
  async run(values, _positionals, io) {
    const namespace = values.namespace;
    if (typeof namespace !== 'string') throw new UsageError('--namespace is required');
    const apiKey = io.env.SAFETYKIT_API_KEY;
    if (!apiKey) throw new UsageError('set SAFETYKIT_API_KEY (or add --emulator to try a local emulator)');
    const inPath = typeof values.in === 'string' ? values.in : '-';
    const writer = dataWriter({
      apiKey,
      baseUrl: optionOrEnv(values, 'base-url', io.env, 'SAFETYKIT_BASE_URL'),
      namespace,
      batchSize: parseIntegerFlag('batch-size', values['batch-size'] as string | undefined, 1, 1000),
      concurrency: parseIntegerFlag('concurrency', values.concurrency as string | undefined, 1, 64),
      waitForResults: values.wait === true,
      onInvalid: values['skip-invalid'] === true ? 'skip' : 'error',
      signal: io.signal,
    });
    const progress = new ProgressLine(io.stderr, io.progress, () => {
      const s = writer.stats;
      return `ingest ${namespace}: ${formatCount(s.objects)} objects, ${formatCount(s.batches)} requests (${s.inFlight} in flight), ${formatBytes(s.bytes)}, ${formatCount(ratePerSecond(s.objects, s.elapsedMs))}/s`;
    });
    writer.on('progress', () => progress.update());
    const input = inPath === '-' ? io.stdin : createReadStream(inPath, { highWaterMark: 1 << 20 });
    try {
      await pipeline(input, parseJsonl({ source: inPath === '-' ? 'stdin' : inPath }), writer, { signal: io.signal });
    } finally {
      progress.clear();
    }
    progress.done();
    const summary = writer.summary!;
    if (values.json === true) {
      io.stdout.write(`${JSON.stringify({ command: 'ingest', namespace, ...summary })}\n`);
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
