#!/usr/bin/env node
/**
 * The `inference-streams` command: finds the sub-command, parses its flags, runs it with
 * Ctrl-C wired to an AbortSignal, and turns errors into one clear line and an exit code.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AbortError, ConfigError, redact } from '../core/errors.js';
import { closeAgents } from '../core/http.js';
import { COMMON_OPTIONS, EXIT, InterruptedError, UsageError, interruptedExitCode, isReported, type CliCommand, type StopSignal, type CliIO, type OptionSpec, type OptionValues } from './command.js';

/** Sub-commands, loaded only when used so `--help` stays fast. */
const COMMANDS: Record<string, () => Promise<{ command: CliCommand }>> = {
  export: () => import('./commands/export.js'),
  ingest: () => import('./commands/ingest.js'),
  import: () => import('./commands/import.js'),
  predict: () => import('./commands/predict.js'),
  validation: () => import('./commands/validation.js'),
  emulator: () => import('./commands/emulator.js'),
  demo: () => import('./commands/demo.js'),
};

const SUMMARIES: Record<string, string> = {
  export: 'Export Innerworks inference results to JSONL (resumable, exactly once)',
  ingest: 'Add JSONL objects to a SafetyKit namespace in batches',
  import: 'Import a JSONL file of any size into SafetyKit via a pre-signed upload',
  predict: 'Run JSONL documents, raw emails or comment uids through a Reinfer model',
  validation: "Show a Reinfer model's validation statistics",
  emulator: 'Run a local emulator of all three APIs, with fault injection',
  demo: 'Run the end-to-end demo against an embedded emulator',
};

export function mainHelp(): string {
  const width = Math.max(...Object.keys(SUMMARIES).map((name) => name.length));
  const lines = Object.entries(SUMMARIES).map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`);
  return `Usage: inference-streams <command> [options]

Streams for the Innerworks, SafetyKit and Reinfer APIs, and a local emulator of all three.

Commands:
${lines.join('\n')}

Run 'inference-streams <command> --help' for a command's options and examples.
Add --emulator to any command to try it against a local emulator, with no account.

Exit codes: 0 ok, 1 API or I/O error, 2 usage error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
`;
}

/** Run the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(mainHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    const { VERSION } = await import('../core/version.js');
    io.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.stderr.write(`inference-streams: unknown command "${name}"\n\n${mainHelp()}`);
    return EXIT.usage;
  }
  const { command } = await load();
  let values: OptionValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: rest, options: { ...COMMON_OPTIONS, ...command.options }, allowPositionals: true, strict: true }));
  } catch (error) {
    io.stderr.write(`inference-streams ${name}: ${(error as Error).message}\nRun 'inference-streams ${name} --help' for usage.\n`);
    return EXIT.usage;
  }
  try {
    values = { ...optionsFromEnv({ ...COMMON_OPTIONS, ...command.options }, io.env), ...values };
  } catch (error) {
    io.stderr.write(`inference-streams ${name}: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
  if (values.help) {
    io.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return EXIT.ok;
  }
  const commandIO: CliIO = { ...io, verbose: io.verbose || values.verbose === true, progress: io.progress && values['no-progress'] !== true };
  let stopEmulator: (() => Promise<void>) | undefined;
  try {
    if (values.emulator === true && name !== 'emulator' && name !== 'demo') {
      const { startEmulator } = await import('../emulator/index.js');
      const emulator = await startEmulator();
      stopEmulator = emulator.close;
      commandIO.env = { ...io.env, ...emulator.env };
      io.stderr.write(`inference-streams: using a local emulator at ${emulator.url}\n`);
    }
    return await command.run(values, positionals, commandIO);
  } catch (error) {
    return reportError(name, error, commandIO);
  } finally {
    await stopEmulator?.();
  }
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

/** `batch-size` → `INFERENCE_STREAMS_BATCH_SIZE`. */
export function envNameOf(flag: string): string {
  return `INFERENCE_STREAMS_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** Print one clear line for an error (the stack with --verbose) and choose the exit code. */
export function reportError(commandName: string, error: unknown, io: CliIO): number {
  // A command that printed its own line (e.g. "interrupted after N records; to continue …") marks the error.
  const quiet = isReported(error);
  if (error instanceof UsageError || error instanceof ConfigError) {
    if (!quiet) io.stderr.write(`inference-streams ${commandName}: ${redact(error.message)}\nRun 'inference-streams ${commandName} --help' for usage.\n`);
    return EXIT.usage;
  }
  if (error instanceof AbortError || io.signal.aborted) {
    if (!quiet) io.stderr.write(`inference-streams ${commandName}: interrupted\n`);
    return interruptedExitCode(io);
  }
  if (quiet) return EXIT.failure;
  const err = error instanceof Error ? error : new Error(String(error));
  io.stderr.write(`inference-streams ${commandName}: ${redact(err.message)}\n`);
  if (io.verbose && err.stack) io.stderr.write(`${redact(err.stack)}\n`);
  return EXIT.failure;
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
