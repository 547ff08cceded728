/** What every CLI command module exports, and the helpers they share. */
import type { Readable, Writable } from 'node:stream';
import type { ParseArgsConfig } from 'node:util';
import { AbortError } from '../core/errors.js';
import type { ProgressMode } from './progress.js';
import { jsonLineSafe } from './terminal-text.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

/** The process, as a command sees it (tests pass their own streams and env). */
export interface CliIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Draw progress bars on stderr (it is a TTY and --no-progress was not given). */
  progress: boolean;
  /** How progress is shown (`--progress`); default: a bar when `progress`, else none. */
  progressMode?: ProgressMode;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM. */
  signal: AbortSignal;
  /** Print stacks of errors. */
  verbose: boolean;
}

export interface CliCommand {
  name: string;
  /** The whole `--help` text: usage, options with defaults and env vars, examples. */
  help: string;
  options: OptionSpec;
  /**
   * Library option → CLI flag where the names differ, e.g. `{ startTime: 'since' }` (a leading
   * `--` is allowed), or → an environment variable (`{ apiKey: 'INNERWORKS_API_KEY' }`): a
   * `ConfigError` about `startTime` is then reported as `--since` (or the env var it came from).
   * Default: the option in kebab case (`batchSize` → `batch-size`), then a few shared names
   * (`startTime` → `since`, `endTime` → `until`, `labels` → `label`, `file` → `out`, `stateFile` → `state`).
   */
  flagOf?: Record<string, string>;
  /**
   * Why `--emulator` does not apply to this command, when it does not (e.g. `status` calls no
   * API): `--emulator` is then refused with this reason (exit 2) instead of being ignored, and
   * left out of the command's help. Default: `--emulator` starts a local emulator for the run.
   */
  emulatorRefused?: string;
  /** Returns the exit code. Throw `UsageError` for bad arguments (exit 2). */
  run(values: OptionValues, positionals: string[], io: CliIO): Promise<number>;
}

/** Bad command-line arguments: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * `--json` refused because the command's data goes to stdout: the failure is not printed as JSON
 * there either (stdout is the data's, even when there is none).
 */
export class JsonWithStdoutError extends UsageError {
  override name = 'UsageError';
}

/** Exit codes, documented in the README: 128 + the signal's number when a signal stopped the run. */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2, interrupted: 130, terminated: 143 });

/** The signals that abort a run. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/**
 * The reason `io.signal` is aborted with when the process gets SIGINT or SIGTERM: an
 * {@link AbortError} that says which signal fired, so the exit code can be 130 or 143.
 */
export class InterruptedError extends AbortError {
  readonly signal: StopSignal;
  constructor(signal: StopSignal) {
    super(`interrupted (${signal})`);
    this.signal = signal;
  }
}

/** The exit code of a run stopped by `io.signal`: 143 after SIGTERM, else 130 (SIGINT, or a caller's abort). */
export function interruptedExitCode(io: Pick<CliIO, 'signal'>): number {
  const reason: unknown = io.signal.reason;
  return reason instanceof InterruptedError && reason.signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
}

/**
 * Mark an error whose message the command already printed (e.g. its own "interrupted after …"
 * line): `reportError` then prints nothing more but still chooses the exit code.
 */
export function markReported<E extends Error>(error: E): E {
  Object.defineProperty(error, 'alreadyReported', { value: true, enumerable: false, configurable: true });
  return error;
}

/** True for an error passed through {@link markReported}. */
export function isReported(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { alreadyReported?: unknown }).alreadyReported === true;
}

/**
 * Write the `--json` summary: one line `{"command": NAME, ...fields}` on stdout. Every command
 * uses the same shape: `command`, then counts named after what they count (`records`, `objects`,
 * `predicted`, `skipped`), ids (`requestIds`), files (`files`), and `elapsedMs` for the whole run.
 */
export function writeJsonSummary(io: Pick<CliIO, 'stdout'>, command: string, fields: Record<string, unknown> & { elapsedMs: number }): void {
  const summary: Record<string, unknown> = { command, ...fields };
  summary.command = command; // the command's name wins over a field of the same name
  io.stdout.write(`${jsonLineSafe(summary)}\n`);
}

/**
 * Refuse `--json` when the command's data also goes to stdout: the summary line would be mixed
 * into the data. `dataFlag` names how the data was sent there (default `--out -`).
 */
export function refuseJsonWithStdout(values: OptionValues, dataGoesToStdout: boolean, dataFlag = '--out -'): void {
  if (values.json === true && dataGoesToStdout) throw new JsonWithStdoutError(`--json cannot be used when data goes to stdout (${dataFlag}); write the data to a file`);
}

/** A string option, else an env var, else undefined. */
export function optionOrEnv(values: OptionValues, name: string, env: NodeJS.ProcessEnv, envName: string): string | undefined {
  const value = values[name];
  if (typeof value === 'string') return value;
  const fromEnv = env[envName];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

/** Parse an integer option value, or throw a UsageError naming the flag. */
export function parseIntegerFlag(flag: string, value: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  // Decimal digits only: Number() would also take "0x10", "1e3", " 5" and "".
  const number = /^[+-]?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(number) || number < min || number > max) throw new UsageError(`--${flag} must be an integer from ${min} to ${max} (got "${value}")`);
  return number;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parse a number option value, or throw a UsageError naming the flag. */
export function parseNumberFlag(flag: string, value: string | undefined, min = -Infinity, max = Infinity): number | undefined {
  if (value === undefined) return undefined;
  // A decimal number only: Number() would also take "0x1", "0b1" and " 1 ".
  const number = DECIMAL.test(value) ? Number(value) : Number.NaN;
  if (value.trim() === '' || !Number.isFinite(number) || number < min || number > max) throw new UsageError(`--${flag} must be a number from ${min} to ${max} (got "${value}")`);
  return number;
}

/** Parse a time given as ISO 8601 or epoch milliseconds. */
export function parseTimeFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`--${flag} must be an ISO 8601 date or epoch milliseconds (got "${value}")`);
  return ms;
}

/** The most Innerworks records an emulator is started with (`emulator --records`, `--emulator-records`). */
export const EMULATOR_MAX_RECORDS = 1e12;

/** Options every command accepts. */
export const COMMON_OPTIONS: OptionSpec = {
  help: { type: 'boolean', short: 'h' },
  verbose: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  emulator: { type: 'boolean' },
  json: { type: 'boolean' },
};

export const COMMON_HELP = `Common options:
  --emulator         start a local emulator for this run and point the command at it (no account needed)
  --json             print a JSON summary on stdout instead of a line on stderr
  --no-progress      no progress on stderr (where there is any: the same as --progress none)
  --verbose          print stacks of errors
  -h, --help         this help
Every option can also be set in the environment: --batch-size 500 is INFERENCE_STREAMS_BATCH_SIZE=500
(repeatable options take ';'-separated values); the command line wins.`;
