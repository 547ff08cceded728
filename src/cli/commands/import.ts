/** `inference-streams import`: a JSONL file of any size into SafetyKit through the pre-signed upload. */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { stringifyJsonl } from '../../core/jsonl.js';
import { importResults, importWriter, type ImportWriter } from '../../safetykit/index.js';
import { COMMON_HELP, EXIT, UsageError, optionOrEnv, parseIntegerFlag, type CliCommand } from '../command.js';
import { ProgressLine, formatBytes, formatCount } from '../progress.js';

export const command: CliCommand = {
  name: 'import',
  summary: 'Import a JSONL file of any size into SafetyKit via a pre-signed upload',
  help: `Usage: inference-streams import --namespace NS --in FILE|- [options]

Checks every line of a JSONL file (each object needs a string "id"; a bad line stops the run
with its number before anything is uploaded), spools it to a temp file, asks SafetyKit for an
upload URL (POST /v1/data/{namespace}/import), PUTs the file there (no credentials go to that
host), and prints the import's requestId. With --wait it polls until the import succeeds.

Options:
  --namespace NS         the namespace (required)
  --in FILE|-            JSONL input (required; - reads stdin)
  --wait                 poll until the import succeeds (a failed import exits 1 with its reason)
  --results-out FILE|-   write the import's outputs as JSONL (implies --wait; - is stdout)
  --part-bytes N         start a separate import every N bytes (default 1073741824, 1 GiB)
  --spool-dir DIR        directory of the spool file (default the OS temp dir)
  --keep-spool           keep the spool file (for debugging)
  --poll-interval-ms MS  first wait between status checks, growing to 30 s (default 1000)
  --base-url URL         API base URL (env SAFETYKIT_BASE_URL, default https://api.safetykit.com)
The API key is read from SAFETYKIT_API_KEY.
${COMMON_HELP}

Output: one requestId per line on stdout (stderr when --results-out is -), or the JSON summary with --json.

Examples:
  SAFETYKIT_API_KEY=... inference-streams import --namespace listings --in listings.jsonl --wait
  inference-streams import --namespace listings --in big.jsonl --results-out outputs.jsonl
  inference-streams import --emulator --namespace demo --in items.jsonl --results-out -
`,
  options: {
    namespace: { type: 'string' },
    in: { type: 'string' },
    wait: { type: 'boolean' },
    'results-out': { type: 'string' },
    'part-bytes': { type: 'string' },
    'spool-dir': { type: 'string' },
    'keep-spool': { type: 'boolean' },
    'poll-interval-ms': { type: 'string' },
    'base-url': { type: 'string' },
  },
  async run(values, _positionals, io) {
    const namespace = values.namespace;
    if (typeof namespace !== 'string') throw new UsageError('--namespace is required');
    const inPath = values.in;
    if (typeof inPath !== 'string') throw new UsageError('--in FILE is required (- reads stdin)');
    const apiKey = io.env.SAFETYKIT_API_KEY;
    if (!apiKey) throw new UsageError('set SAFETYKIT_API_KEY (or add --emulator to try a local emulator)');
    const resultsOut = typeof values['results-out'] === 'string' ? values['results-out'] : undefined;
    if (resultsOut === '-' && values.json === true) throw new UsageError('--results-out - and --json both want stdout; pick one');
    const connection = {
      apiKey,
      baseUrl: optionOrEnv(values, 'base-url', io.env, 'SAFETYKIT_BASE_URL'),
      namespace,
      signal: io.signal,
      pollIntervalMs: parseIntegerFlag('poll-interval-ms', values['poll-interval-ms'] as string | undefined, 1, 3_600_000),
    };
    const wait = values.wait === true || resultsOut !== undefined;
    const writer = importWriter({
      ...connection,
      wait,
      partBytes: parseIntegerFlag('part-bytes', values['part-bytes'] as string | undefined, 1),
      spoolDir: values['spool-dir'] as string | undefined,
      keepSpool: values['keep-spool'] === true,
      source: inPath === '-' ? 'stdin' : inPath,
    });
    const progress = new ProgressLine(io.stderr, io.progress, () => describeProgress(namespace, writer));
    writer.on('progress', () => progress.update());
    const input = inPath === '-' ? io.stdin : createReadStream(inPath, { highWaterMark: 1 << 20 });
    try {
      await pipeline(input, writer, { signal: io.signal });
    } finally {
      progress.clear();
    }
    progress.done();
    const summary = writer.summary!;

    let results = 0;
    if (resultsOut !== undefined) {
      for (const [part, requestId] of summary.requestIds.entries()) {
        const outputs = importResults({ ...connection, requestId });
        outputs.on('data', () => results++);
        const target = resultsOut === '-' ? io.stdout : createWriteStream(resultsOut, { flags: part === 0 ? 'w' : 'a' });
        await pipeline(outputs, stringifyJsonl(), target, { end: resultsOut !== '-', signal: io.signal });
      }
    }

    if (values.json === true) {
      io.stdout.write(`${JSON.stringify({ command: 'import', namespace, ...summary, ...(resultsOut !== undefined ? { results } : {}) })}\n`);
    } else {
      const ids = resultsOut === '-' ? io.stderr : io.stdout;
      for (const requestId of summary.requestIds) ids.write(`${requestId}\n`);
      const state = wait ? 'imported' : 'uploaded (not waited for)';
      const written = resultsOut !== undefined ? `; ${formatCount(results)} outputs written to ${resultsOut === '-' ? 'stdout' : resultsOut}` : '';
      io.stderr.write(
        `${formatCount(summary.objects)} objects (${formatBytes(summary.bytes)}) ${state} into ${namespace} in ${summary.requestIds.length} ${summary.requestIds.length === 1 ? 'request' : 'requests'}${written}\n`,
      );
    }
    return EXIT.ok;
  },
};

function describeProgress(namespace: string, writer: ImportWriter): string {
  const s = writer.stats;
  if (s.phase === 'spooling') return `import ${namespace}: checking ${formatCount(s.objects)} objects, ${formatBytes(s.spooledBytes)} spooled`;
  if (s.phase === 'uploading') {
    const share = s.spooledBytes > 0 ? ` (${Math.floor((100 * s.bytes) / s.spooledBytes)}%)` : '';
    return `import ${namespace}: uploading ${formatBytes(s.bytes)} of ${formatBytes(s.spooledBytes)}${share}, part ${s.partsUploaded + 1}/${s.parts}`;
  }
  if (s.phase === 'polling') return `import ${namespace}: waiting for ${s.parts - s.partsSucceeded} of ${s.parts} imports (${s.polls} status checks)`;
  return `import ${namespace}: done, ${formatCount(s.objects)} objects in ${s.parts} parts`;
}
