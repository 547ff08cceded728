/** `inference-streams import`: a JSONL or JSON-array file of any size into SafetyKit through the pre-signed upload. */
import { createReadStream, createWriteStream } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isDescriptorPath } from '../../core/file-identity.js';
import { decideShape, formatOfName, parseJsonItems, sniffJsonInput, type JsonInputShape } from '../../core/json-input.js';
import { stringifyJsonl } from '../../core/jsonl.js';
import { objectProblem } from '../../safetykit/errors.js';
import { importFile, importResults, importWriter, type ImportEvent, type ImportFileStats, type ImportWriter, type ImportWriterSummary } from '../../safetykit/index.js';
import { COMMON_HELP, EXIT, UsageError, markReported, optionOrEnv, parseIntegerFlag, refuseJsonWithStdout, writeJsonSummary, type CliCommand, type CliIO } from '../command.js';
import { withJsonFields } from '../report-error.js';
import { INPUT_FORMAT_OPTION, inputFormatHelp, parseInputFormat, type InputFormat } from '../input.js';
import { commandHint, copyableCommand } from '../command-line.js';
import { PROGRESS_HELP, PROGRESS_OPTION, formatBytes, startProgress, type ProgressSnapshot } from '../progress.js';
import { counted } from '../../core/plural.js';

export const command: CliCommand = {
  name: 'import',
  help: `Usage: inference-streams import --namespace NS --in FILE|- [options]

Imports a JSONL file (each line an object with a string "id"), or one JSON array of such
objects, through SafetyKit's pre-signed upload: asks for an upload URL (POST /v1/data/{namespace}/import), PUTs the file there (no
credentials go to that host) and prints the import's requestId. With --wait it polls until the
import succeeds.

A regular file is streamed into the upload as it is (no copy) while its lines are checked; a
bad line stops the upload before it completes, so nothing of it is imported, and names the
line. A JSON array goes up the same way, each element on one line (the commas between elements
become newlines). stdin, a pipe and a device are checked and spooled to a temp file first (the
upload needs its size up front). Every object is sent as its own text, never re-serialized, so
numbers such as 12345678901234567890 or 1.0 arrive as written.

Re-running: what resumes is an import of a regular file, JSONL or a JSON array. Its progress is
kept in FILE.import-state.json (or --state). Run the same command again after a crash, kill -9
or Ctrl-C and it sends no part twice: parts uploaded before are skipped (their requests are
polled again with --wait), the rest are uploaded. If the file changed since (size, modification
time, or its first or last 64 KiB), the run is refused; delete the state file to import it again
from the start. While it runs, FILE.import-state.json.lock keeps a second run of the same import
from starting (refused, naming the pid of the first).
Not resumable: --in - (stdin), a pipe, a device, any path under /dev or /proc (--in /dev/stdin
too): those are read once, and running the command again sends everything again.

Options:
  --namespace NS         the namespace (required)
  --in FILE|-            input file (required, where ingest and predict read stdin by default:
                         an import of stdin is spooled whole to a temp file before the upload
                         and cannot be resumed, so it is asked for by name, --in -; a pipe or a
                         device is read the same way)
${inputFormatHelp(25)}
  --wait                 poll until the import succeeds (a failed import exits 1 with its reason)
  --results-out FILE|-   write the import's outputs as JSONL (implies --wait; - is stdout)
  --part-bytes N         start a separate import every N bytes (default 1073741824, 1 GiB)
  --state FILE           resume state of a file import, and its lock FILE.lock (default: the
                         --in file + .import-state.json)
  --spool-dir DIR        directory of the spool file of stdin, a pipe or a device (default the
                         OS temp dir)
  --keep-spool           keep that spool file (for debugging)
  --poll-interval-ms MS  first wait between status checks, growing to 30 s (default 1000: a
                         short import is seen done at once; export --follow waits a fixed 5000)
  --base-url URL         API base URL (env SAFETYKIT_BASE_URL, default https://api.safetykit.com)
The API key is read from SAFETYKIT_API_KEY.
${PROGRESS_HELP}

${COMMON_HELP}

Output: one requestId per line on stdout (stderr when --results-out is -), or the JSON summary
with --json. Interrupted or failed, it prints the requestIds and objects already uploaded.

Examples:
  SAFETYKIT_API_KEY=... inference-streams import --namespace listings --in listings.jsonl --wait
  inference-streams import --namespace listings --in big.jsonl --results-out outputs.jsonl
  inference-streams import --namespace listings --in listings.json --wait
  inference-streams import --emulator --namespace demo --in items.jsonl --results-out -
`,
  // importFile()'s format is set by --input-format (or found from the file's first bytes).
  flagOf: { format: '--input-format' },
  options: {
    ...PROGRESS_OPTION,
    namespace: { type: 'string' },
    in: { type: 'string' },
    ...INPUT_FORMAT_OPTION,
    wait: { type: 'boolean' },
    'results-out': { type: 'string' },
    'part-bytes': { type: 'string' },
    state: { type: 'string' },
    'spool-dir': { type: 'string' },
    'keep-spool': { type: 'boolean' },
    'poll-interval-ms': { type: 'string' },
    'base-url': { type: 'string' },
  },
  async run(values, _positionals, io) {
    const namespace = values.namespace;
    if (typeof namespace !== 'string') throw new UsageError('--namespace is required');
    const inPath = values.in;
    if (typeof inPath !== 'string') throw new UsageError('--in FILE is required (--in - reads stdin, spooled to a temp file first and not resumable)');
    const apiKey = io.env.SAFETYKIT_API_KEY;
    if (!apiKey) throw new UsageError('set SAFETYKIT_API_KEY (or add --emulator to try a local emulator)');
    const resultsOut = typeof values['results-out'] === 'string' ? values['results-out'] : undefined;
    refuseJsonWithStdout(values, resultsOut === '-', '--results-out -');
    const format = parseInputFormat(values['input-format']);
    const statePath = typeof values.state === 'string' ? values.state : undefined;
    const spoolDir = typeof values['spool-dir'] === 'string' ? values['spool-dir'] : undefined;
    const connection = {
      apiKey,
      baseUrl: optionOrEnv(values, 'base-url', io.env, 'SAFETYKIT_BASE_URL'),
      namespace,
      signal: io.signal,
      pollIntervalMs: parseIntegerFlag('poll-interval-ms', values['poll-interval-ms'] as string | undefined, 1, 3_600_000),
    };
    const wait = values.wait === true || resultsOut !== undefined;
    const partBytes = parseIntegerFlag('part-bytes', values['part-bytes'] as string | undefined, 1);

    // Every path is checked before anything is uploaded: a typo must not cost a 50 GB upload.
    const isFile = inPath !== '-' && (await inputIsFile(inPath));
    // A regular file is imported in place whatever it holds: JSONL as it is, a JSON array as its JSONL view.
    const fileFormat = isFile && (await fileShape(inPath, format)) !== 'jsonl' ? 'json' : 'jsonl';
    if (statePath !== undefined && !isFile) {
      throw new UsageError('--state needs --in FILE, a regular file: stdin, a pipe or a device (anything under /dev or /proc) cannot be read again to resume');
    }
    if (resultsOut !== undefined && resultsOut !== '-') await checkOutputPath('results-out', resultsOut);
    if (isFile) await checkOutputPath('state', statePath ?? `${inPath}.import-state.json`);
    if (spoolDir !== undefined) await checkDirectory('spool-dir', spoolDir);

    const sent = new SentParts();
    let summary: ImportWriterSummary & { resumed?: boolean; partsSkipped?: number; stateFile?: string };
    try {
      summary = isFile
        ? await importFromFile(inPath, { ...connection, wait, partBytes, stateFile: statePath, spoolDir, format: fileFormat }, namespace, sent, io)
        : await importFromStream(inPath, format, { ...connection, wait, partBytes, spoolDir, keepSpool: values['keep-spool'] === true }, namespace, sent, io);
    } catch (error) {
      throw sent.report(error, io, isFile ? (statePath ?? `${inPath}.import-state.json`) : undefined, commandHint(copyableCommand(['import'], values)));
    }

    let results = 0;
    if (resultsOut !== undefined) {
      for (const [part, requestId] of summary.requestIds.entries()) {
        const outputs = importResults({ ...connection, requestId });
        outputs.on('data', () => results++);
        const target = resultsOut === '-' ? io.stdout : createWriteStream(resultsOut, { flags: part === 0 ? 'w' : 'a' });
        await pipeline(outputs, stringifyJsonl(), target, { end: resultsOut !== '-', signal: io.signal });
      }
    }

    const { requestIds, objects, bytes, statuses, retries, elapsedMs } = summary;
    if (values.json === true) {
      const resume = summary.stateFile !== undefined ? { resumed: summary.resumed, partsSkipped: summary.partsSkipped, stateFile: summary.stateFile } : {};
      writeJsonSummary(io, 'import', { namespace, objects, requestIds, bytes, statuses, retries, ...resume, ...(resultsOut !== undefined ? { results } : {}), elapsedMs });
    } else {
      const ids = resultsOut === '-' ? io.stderr : io.stdout;
      for (const requestId of requestIds) ids.write(`${requestId}\n`);
      const state = wait ? 'imported' : 'uploaded (not waited for)';
      const skipped = summary.partsSkipped ? ` (${summary.partsSkipped} of them uploaded by an earlier run, not sent again)` : '';
      const written = resultsOut !== undefined ? `; ${counted(results, 'output')} written to ${resultsOut === '-' ? 'stdout' : resultsOut}` : '';
      io.stderr.write(
        `${counted(objects, 'object')} (${formatBytes(bytes)} uploaded) ${state} into ${namespace} in ${counted(requestIds.length, 'request')}${skipped}${written}\n`,
      );
    }
    return EXIT.ok;
  },
};

type Connection = { apiKey: string; baseUrl: string | undefined; namespace: string; signal: AbortSignal; pollIntervalMs: number | undefined; wait: boolean; partBytes: number | undefined; spoolDir: string | undefined };

/** A regular file (JSONL or a JSON array): imported in place, resumably. */
async function importFromFile(inPath: string, options: Connection & { stateFile: string | undefined; format: 'jsonl' | 'json' }, namespace: string, sent: SentParts, io: CliIO) {
  let stats: ImportFileStats | undefined;
  const progress = startProgress(io, 'import', () => (stats ? describeFileProgress(namespace, stats) : { text: `import ${namespace}: starting` }));
  let summary;
  try {
    summary = await importFile({
      ...options,
      file: inPath,
      onImport: (event) => sent.note(event),
      onProgress: (next) => {
        stats = next;
        progress.update();
      },
    });
  } finally {
    progress.clear();
  }
  progress.done();
  return summary;
}

/**
 * stdin, a pipe or a device: checked and spooled, then uploaded (not resumable). JSONL goes to the
 * spool as it is; each element of a JSON array as its own text on one line (never re-serialized,
 * so every digit arrives as it was written).
 */
async function importFromStream(inPath: string, format: InputFormat | undefined, options: Connection & { keepSpool: boolean }, namespace: string, sent: SentParts, io: CliIO) {
  const source = inPath === '-' ? 'stdin' : inPath;
  const writer = importWriter({ ...options, source });
  writer.on('import', (event: ImportEvent) => sent.note(event));
  const progress = startProgress(io, 'import', () => describeProgress(namespace, writer));
  writer.on('progress', () => progress.update());
  const raw = inPath === '-' ? io.stdin : createReadStream(inPath, { highWaterMark: 1 << 20 });
  const input = format === 'jsonl' ? { shape: 'jsonl' as const, bytes: raw } : await sniffJsonInput(raw);
  const shape = format === 'json' && input.shape === 'jsonl' ? 'array' : input.shape;
  try {
    if (shape === 'jsonl') {
      // JSONL text goes to the spool as it is (checked there, not parsed twice).
      await pipeline(input.bytes, writer, { signal: io.signal });
    } else {
      const items = parseJsonItems(shape, { source, objectsOnly: true, validate: objectProblem, keepText: true });
      await pipeline(input.bytes, items, writer, { signal: io.signal });
    }
  } finally {
    progress.clear();
  }
  progress.done();
  return writer.summary!;
}

/** The parts uploaded so far, to say what was sent when the run stops early. */
class SentParts {
  private readonly parts = new Map<number, { requestId: string; objects: number; resumed: boolean }>();

  note(event: ImportEvent): void {
    if (event.stage === 'uploaded') this.parts.set(event.part, { requestId: event.requestId, objects: event.objects, resumed: event.resumed === true });
  }

  /** Print what was uploaded before `error` (if anything) and mark the error as reported. */
  report(error: unknown, io: CliIO, stateFile: string | undefined, resumeCommand: string): unknown {
    if (this.parts.size === 0 || !(error instanceof Error)) return error;
    const parts = [...this.parts.values()];
    const objects = parts.reduce((sum, part) => sum + part.objects, 0);
    const what = io.signal.aborted ? 'interrupted' : error.message;
    const next = stateFile
      ? `run the same command again to resume (state in ${stateFile}; uploaded parts are not sent again): ${resumeCommand}`
      : 'these requests were sent; running the command again sends the whole input again (stdin, a pipe or a device is read once: it cannot be resumed)';
    withJsonFields(error, { objects, requestIds: parts.map((part) => part.requestId), ...(stateFile ? { stateFile } : {}) });
    io.stderr.write(
      `inference-streams import: ${what}\n` +
        `uploaded before it: ${counted(objects, 'object')} in ${counted(parts.length, 'request')}: ${parts.map((part) => part.requestId).join(' ')}\n` +
        `${next}\n`,
    );
    return markReported(error);
  }
}

/**
 * What a file holds, decided as ingest and predict decide it: `--input-format`, else the extension
 * (`.jsonl`/`.ndjson` JSONL, `.json` a document), else its first bytes.
 */
async function fileShape(path: string, format: InputFormat | undefined): Promise<JsonInputShape> {
  const said = format ?? formatOfName(path);
  if (said === 'jsonl') return 'jsonl';
  if (said === 'json') return 'array';
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return decideShape(head.subarray(0, bytesRead), true) ?? 'jsonl';
  } finally {
    await handle.close();
  }
}

/** A regular file, imported in place and resumably; anything else (a pipe, a device, a path under /dev or /proc, such as /dev/stdin) is read as a stream. */
async function inputIsFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile() && !isDescriptorPath(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`--in ${path}: no such file`);
    throw error;
  }
}

/** An output file must be writable: an existing file we may write, or a new one in a directory we may write in. */
async function checkOutputPath(flag: string, path: string): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new UsageError(`--${flag} ${path} is a directory; give a file name`);
  if (existing) {
    await access(path, constants.W_OK).catch(() => {
      throw new UsageError(`--${flag} ${path} is not writable`);
    });
    return;
  }
  await checkDirectory(flag, dirname(path), path);
}

async function checkDirectory(flag: string, directory: string, file?: string): Promise<void> {
  const shown = file ?? directory;
  const info = await stat(directory).catch(() => undefined);
  if (!info) throw new UsageError(`--${flag} ${shown}: directory ${directory} does not exist`);
  if (!info.isDirectory()) throw new UsageError(`--${flag} ${shown}: ${directory} is not a directory`);
  await access(directory, constants.W_OK).catch(() => {
    throw new UsageError(`--${flag} ${shown}: directory ${directory} is not writable`);
  });
}

function describeFileProgress(namespace: string, s: ImportFileStats): ProgressSnapshot {
  const counts = { records: s.objects, retries: s.retries, position: `byte ${s.bytes} of ${s.fileBytes}` };
  if (s.phase === 'uploading') {
    const share = s.fileBytes > 0 ? ` (${Math.floor((100 * s.bytes) / s.fileBytes)}%)` : '';
    const skipped = s.partsSkipped > 0 ? `, ${s.partsSkipped} done by an earlier run` : '';
    return { ...counts, text: `import ${namespace}: checking and uploading ${formatBytes(s.bytes)} of ${formatBytes(s.fileBytes)}${share}, part ${s.partsUploaded + 1}${skipped}` };
  }
  if (s.phase === 'polling') return { ...counts, text: `import ${namespace}: waiting for ${s.parts - s.partsSucceeded} of ${s.parts} imports (${counted(s.polls, 'status check')})` };
  return { ...counts, text: `import ${namespace}: done, ${counted(s.objects, 'object')} in ${counted(s.parts, 'part')}` };
}

function describeProgress(namespace: string, writer: ImportWriter): ProgressSnapshot {
  const s = writer.stats;
  const counts = { records: s.objects, recordsThisRun: s.objects, retries: s.retries };
  if (s.phase === 'spooling') return { ...counts, position: `byte ${s.spooledBytes} spooled`, text: `import ${namespace}: checking ${counted(s.objects, 'object')}, ${formatBytes(s.spooledBytes)} spooled` };
  const position = `byte ${s.bytes} of ${s.spooledBytes}`;
  if (s.phase === 'uploading') {
    const share = s.spooledBytes > 0 ? ` (${Math.floor((100 * s.bytes) / s.spooledBytes)}%)` : '';
    return { ...counts, position, text: `import ${namespace}: uploading ${formatBytes(s.bytes)} of ${formatBytes(s.spooledBytes)}${share}, part ${s.partsUploaded + 1}/${s.parts}` };
  }
  if (s.phase === 'polling') return { ...counts, position, text: `import ${namespace}: waiting for ${s.parts - s.partsSucceeded} of ${s.parts} imports (${counted(s.polls, 'status check')})` };
  return { ...counts, position, text: `import ${namespace}: done, ${counted(s.objects, 'object')} in ${counted(s.parts, 'part')}` };
}
