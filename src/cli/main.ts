#!/usr/bin/env node
/**
 * The `inference-streams` command: finds the sub-command, parses its flags, runs it with
 * Ctrl-C wired to an AbortSignal, and turns errors into one clear line and an exit code.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { closeAgents } from '../core/http.js';
import { COMMON_OPTIONS, EMULATOR_MAX_RECORDS, EXIT, InterruptedError, UsageError, parseIntegerFlag, type CliCommand, type CliIO, type OptionSpec, type OptionValues, type StopSignal } from './command.js';
import { closest, closestOption } from './did-you-mean.js';
import { reportOutages } from './outage-notice.js';
import { resolveProgressMode, stopAllProgress } from './progress.js';
import { envNameOf, reportError } from './report-error.js';
import { innerworksDataLine } from './emulator-data.js';

export { envNameOf, reportError } from './report-error.js';

/** Sub-commands, loaded only when used so `--help` stays fast. */
const COMMANDS: Record<string, () => Promise<{ command: CliCommand }>> = {
  export: () => import('./commands/export.js'),
  ingest: () => import('./commands/ingest.js'),
  import: () => import('./commands/import.js'),
  predict: () => import('./commands/predict.js'),
  validation: () => import('./commands/validation.js'),
  emulator: () => import('./commands/emulator.js'),
  worker: () => import('./commands/worker.js'),
  status: () => import('./commands/status.js'),
  demo: () => import('./commands/demo.js'),
};

/** One line a command for `inference-streams --help` (here, so help loads no command module). */
const SUMMARIES: Record<string, string> = {
  export: 'Export Innerworks results to JSONL/CSV/Parquet, DuckDB or PostgreSQL (resumable, exactly once), stdout, or a queue',
  ingest: 'Add objects (JSONL or a JSON array) to a SafetyKit namespace in batches',
  import: 'Import a file of any size (JSONL or a JSON array) into SafetyKit via a pre-signed upload',
  predict: 'Run documents, raw emails or comment uids (JSONL or a JSON array) through a Reinfer model',
  validation: "Show a Reinfer model's validation statistics",
  emulator: 'Run a local emulator of all three APIs, with fault injection',
  worker: 'Run partition jobs of queued exports (BullMQ on Redis) until stopped',
  status: 'List the jobs in a queue, or show one partition by partition (--watch follows it)',
  demo: 'Run the end-to-end demo against an embedded emulator',
};

export function mainHelp(): string {
  const width = Math.max(...Object.keys(SUMMARIES).map((name) => name.length));
  const lines = Object.entries(SUMMARIES).map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`);
  return `Usage: inference-streams <command> [options]

Streams for the Innerworks, SafetyKit and Reinfer APIs, and a local emulator of all three.

Commands:
${lines.join('\n')}

Run 'inference-streams help <command>' (or '<command> --help') for a command's options and examples.
Add --emulator to export, ingest, import, predict or validation to try it against a local
emulator started for that run, with no account ('emulator' runs one on its own).
'inference-streams version' (or --version, -V, -v) prints the version.

Exit codes: 0 ok, 1 API or I/O error, 2 usage error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
`;
}

/**
 * Short flags, the same for every command that has the long one (so `-o` is always `--out`).
 * Commands declare long flags; these are added here, and to their `--help`.
 */
export const SHORT_FLAGS: Readonly<Record<string, string>> = { help: 'h', in: 'i', out: 'o' };

/** A command's options with the shared short flags added. */
export function optionsOf(command: CliCommand): OptionSpec {
  const options: OptionSpec = {};
  for (const [flag, spec] of Object.entries({ ...COMMON_OPTIONS, ...command.options })) {
    const short = spec.short ?? SHORT_FLAGS[flag];
    options[flag] = short === undefined ? spec : { ...spec, short };
  }
  return options;
}

/**
 * A command's `--help`, with every short flag shown beside its long one (`  -o, --out FILE`), and
 * without `--emulator` among the common options where the command refuses it.
 */
export function commandHelp(command: CliCommand): string {
  let help = command.help.endsWith('\n') ? command.help : `${command.help}\n`;
  if (command.emulatorRefused !== undefined) help = help.replace(/^  --emulator .*\n/m, '');
  for (const [flag, spec] of Object.entries(optionsOf(command))) {
    if (spec.short === undefined) continue;
    // "  --out FILE|-            text" → "  -o, --out FILE|-        text": the description keeps its column.
    const line = new RegExp(`^  --${flag}(?=[ =]|$)([^\\n]*)$`, 'm');
    help = help.replace(line, (_whole, rest: string) => `  -${spec.short}, --${flag}${rest.replace(/ {6,}/, (gap) => gap.slice(4))}`);
  }
  return help;
}

async function printVersion(io: CliIO): Promise<number> {
  const { VERSION } = await import('../core/version.js');
  io.stdout.write(`${VERSION}\n`);
  return EXIT.ok;
}

function unknownCommand(name: string, io: CliIO): number {
  const guess = closest(name, Object.keys(COMMANDS));
  io.stderr.write(`inference-streams: unknown command "${name}"${guess ? `; did you mean "${guess}"?` : ''}\n\n${mainHelp()}`);
  return EXIT.usage;
}

/** Run the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    // Not asked for: usage is a complaint here, so it goes to stderr (stdout may be a pipe).
    io.stderr.write(mainHelp());
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    io.stdout.write(mainHelp());
    return EXIT.ok;
  }
  if (name === 'version' || name === '--version' || name === '-V' || name === '-v') return printVersion(io);
  if (name === 'help') {
    const load = COMMANDS[rest[0]];
    if (!load) return unknownCommand(rest[0], io);
    io.stdout.write(commandHelp((await load()).command));
    return EXIT.ok;
  }
  const load = COMMANDS[name];
  if (!load) return unknownCommand(name, io);
  let command: CliCommand;
  try {
    ({ command } = await load());
  } catch (error) {
    // e.g. EMFILE while Node loads the command's modules: one line with a hint, not a stack.
    return reportError(name, error, io);
  }
  const options = optionsOf(command);
  let values: OptionValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: rest, options, allowPositionals: true, strict: true }));
  } catch (error) {
    // --json asked for, as far as the unparsed arguments tell: the failure is a JSON line too.
    const json = rest.includes('--json') || /^(1|true|yes)$/i.test(io.env[envNameOf('json')] ?? '');
    return reportError(name, new UsageError(parseErrorMessage(error as Error & { code?: string }, options)), io, { command, values: { json } });
  }
  const fromCommandLine = new Set(Object.keys(values));
  try {
    values = { ...optionsFromEnv(options, io.env), ...values };
  } catch (error) {
    return reportError(name, error, io, { command, values: { json: values.json === true } });
  }
  if (values.help) {
    io.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  const commandIO: CliIO = { ...io, verbose: io.verbose || values.verbose === true, progress: io.progress && values['no-progress'] !== true };
  let stopEmulator: (() => Promise<void>) | undefined;
  let stopRetryNotices: (() => void) | undefined;
  try {
    const progressMode = resolveProgressMode(values, io.progress);
    commandIO.progressMode = io.progressMode ?? progressMode;
    commandIO.progress = commandIO.progressMode === 'bar';
    stopRetryNotices = reportOutages(commandIO);
    const emulatorRecords = emulatorRecordsOf(command, values);
    // The demo always runs its own emulator: --emulator there says what it does anyway.
    if (values.emulator === true && name !== 'demo') {
      const { startEmulator } = await import('../emulator/index.js');
      const emulator = await startEmulator({ innerworks: { records: emulatorRecords } });
      stopEmulator = emulator.close;
      commandIO.env = { ...io.env, ...emulator.env };
      const data = 'emulator-records' in command.options ? `; ${innerworksDataLine(emulator.innerworks)}` : '';
      io.stderr.write(`inference-streams: using a local emulator at ${emulator.url}${data}\n`);
    }
    return await command.run(values, positionals, commandIO);
  } catch (error) {
    return reportError(name, error, commandIO, { command, values, fromCommandLine });
  } finally {
    stopAllProgress();
    stopRetryNotices?.();
    await stopEmulator?.();
  }
}

/**
 * `--emulator` where it applies, and `--emulator-records N` with it (checked before anything
 * starts): refused on a command that calls no API of its own (`emulatorRefused`), and with
 * `--queue`, whose jobs run on workers after this command (and its emulator) has exited.
 */
function emulatorRecordsOf(command: CliCommand, values: OptionValues): number | undefined {
  if (values.emulator === true && command.emulatorRefused !== undefined) throw new UsageError(`--emulator does not apply to ${command.name}: ${command.emulatorRefused}`);
  if (values.emulator === true && values.queue !== undefined) {
    throw new UsageError(`--emulator cannot be used with --queue: the workers run the jobs after this command has exited, and its emulator with it; run 'inference-streams emulator' and pass its URL (${command.name === 'predict' ? '--endpoint' : '--base-url'} URL) instead`);
  }
  const records = parseIntegerFlag('emulator-records', values['emulator-records'] as string | undefined, 0, EMULATOR_MAX_RECORDS);
  if (records !== undefined && values.emulator !== true) throw new UsageError('--emulator-records goes with --emulator (the records of the local emulator it starts)');
  return records;
}

/** parseArgs' errors, in our words: `unknown option --batchsize; did you mean --batch-size?`. */
function parseErrorMessage(error: Error & { code?: string }, options: OptionSpec): string {
  if (error.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return error.message;
  const typed = /Unknown option '([^']+)'/.exec(error.message)?.[1];
  if (typed === undefined) return error.message;
  if (!typed.startsWith('--')) {
    const shorts = Object.entries(options).filter(([, spec]) => spec.short !== undefined).map(([flag, spec]) => `-${spec.short} (--${flag})`);
    return `unknown option ${typed}; short flags here: ${shorts.join(', ')}`;
  }
  const guess = closestOption(typed.slice(2).split('=')[0], Object.keys(options));
  return `unknown option ${typed}${guess ? `; did you mean --${guess}?` : ''}`;
}

/**
 * Every flag can also come from the environment: `--batch-size 500` is
 * `INFERENCE_STREAMS_BATCH_SIZE=500`; a flag on the command line wins.
 */
export function optionsFromEnv(options: OptionSpec, env: NodeJS.ProcessEnv): OptionValues {
  const values: OptionValues = {};
  for (const [flag, spec] of Object.entries(options)) {
    if (flag === 'help') continue;
    const raw = env[envNameOf(flag)];
    if (raw === undefined || raw === '') continue;
    if (spec.type === 'boolean') {
      if (!/^(1|true|yes|0|false|no)$/i.test(raw)) throw new UsageError(`${envNameOf(flag)} must be true or false (got "${raw}")`);
      values[flag] = /^(1|true|yes)$/i.test(raw);
    } else {
      values[flag] = spec.multiple ? raw.split(/\s*;\s*/) : raw;
    }
  }
  return values;
}

/** The real process: stdio, env, and Ctrl-C as an AbortSignal (a second Ctrl-C exits at once). */
async function runProcess(): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: StopSignal) => {
    interrupts++;
    if (interrupts > 1) process.exit(signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted);
    // The reason carries the signal: commands exit 130 after SIGINT, 143 after SIGTERM.
    controller.abort(new InterruptedError(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A closed stdout pipe (e.g. `| head`) is not an error worth a stack.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT.ok);
  });
  const code = await main(process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    progress: process.stderr.isTTY === true,
    signal: controller.signal,
    verbose: false,
  });
  await closeAgents();
  process.exitCode = code;
  // Flush stdout before exiting: a pending keep-alive socket or timer must not hold the process.
  process.stdout.write('', () => process.exit(code));
}

function isEntryPoint(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) void runProcess();
