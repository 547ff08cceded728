/**
 * One clear line for an error that ends a command, in the CLI's words: library options become
 * the flags or environment variables the user actually set, and a refused connection says which
 * setting points at the server. With `--json` the same error is also one JSON line on stdout
 * (the shape is {@link JsonFailure}), for every command.
 */
import { AbortError, ConfigError, ConnectionError, describeUrl, redact } from '../core/errors.js';
import { COMMON_OPTIONS, EXIT, JsonWithStdoutError, UsageError, interruptedExitCode, isReported, type CliCommand, type CliIO, type OptionValues } from './command.js';
import { jsonLineSafe, systemLimitHint, terminalSafe } from './terminal-text.js';

/** Where a command's server and credential come from. */
export interface ServiceSettings {
  /** The flag that sets the server (without `--`). */
  urlFlag: string;
  /** The environment variable that sets the server. */
  urlEnv: string;
  /** The environment variable that holds the credential. */
  credentialEnv: string;
}

/** The server settings of each command that talks to one. */
export const SERVICES: Readonly<Record<string, ServiceSettings>> = {
  export: { urlFlag: 'base-url', urlEnv: 'INNERWORKS_BASE_URL', credentialEnv: 'INNERWORKS_API_KEY' },
  ingest: { urlFlag: 'base-url', urlEnv: 'SAFETYKIT_BASE_URL', credentialEnv: 'SAFETYKIT_API_KEY' },
  import: { urlFlag: 'base-url', urlEnv: 'SAFETYKIT_BASE_URL', credentialEnv: 'SAFETYKIT_API_KEY' },
  predict: { urlFlag: 'endpoint', urlEnv: 'REINFER_ENDPOINT', credentialEnv: 'REINFER_TOKEN' },
  validation: { urlFlag: 'endpoint', urlEnv: 'REINFER_ENDPOINT', credentialEnv: 'REINFER_TOKEN' },
  worker: { urlFlag: 'base-url', urlEnv: 'INNERWORKS_BASE_URL', credentialEnv: 'INNERWORKS_API_KEY' },
};

/** Library option names whose flag is not their kebab case. */
const SHARED_FLAG_OF: Readonly<Record<string, string>> = {
  startTime: 'since',
  endTime: 'until',
  labels: 'label',
  file: 'out',
  stateFile: 'state',
  baseUrl: 'base-url',
};

/** What `reportError` knows about the run, to name flags and env vars as the user set them. */
export interface ErrorContext {
  command?: CliCommand;
  /** The command's values after env vars were merged in. */
  values?: OptionValues;
  /** Flags given on the command line; the others came from the environment or a default. */
  fromCommandLine?: ReadonlySet<string>;
}

/** `batch-size` → `INFERENCE_STREAMS_BATCH_SIZE`. */
export function envNameOf(flag: string): string {
  return `INFERENCE_STREAMS_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * The `--json` line of a failed command on stdout (a successful one prints its summary instead;
 * none when --json was refused because the data goes to stdout):
 * `{"command", "ok": false, "error": {"name", "message", "exitCode", …}, …}`. `message` is the
 * stderr line's text; the error's other facts come when it has them; a command may add what it
 * did before the failure (see {@link withJsonFields}). Redacted like every other output.
 */
export interface JsonFailure {
  command: string;
  ok: false;
  error: {
    /** The error class, e.g. `ConfigError`, `AuthenticationError`, `UsageError`, `AbortError`. */
    name: string;
    message: string;
    /** The exit code of the run. */
    exitCode: number;
    /** A ConfigError's library option, e.g. `format`. */
    option?: string;
    /** An API error's HTTP status. */
    status?: number;
    /** The endpoint of an API or transport error. */
    endpoint?: string;
    /** A low-level or library code, e.g. `ECONNREFUSED`, `ENOSPC`. */
    code?: string;
    /** Retries made before giving up. */
    retries?: number;
  };
  [field: string]: unknown;
}

/**
 * Attach what a command did before `error` (e.g. the request ids SafetyKit accepted) to its
 * `--json` failure line. Returns the error.
 */
export function withJsonFields<E extends Error>(error: E, fields: Record<string, unknown>): E {
  Object.defineProperty(error, 'jsonFields', { value: fields, enumerable: false, configurable: true });
  return error;
}

/** Print one clear line for an error (the stack with --verbose) and choose the exit code; with --json also the JSON line on stdout. */
export function reportError(commandName: string, error: unknown, io: CliIO, context: ErrorContext = {}): number {
  const { message, exitCode } = describeFailure(commandName, error, io, context);
  // A command that printed its own line (e.g. "interrupted after N records; to continue …") marks the error.
  if (!isReported(error)) {
    const help = exitCode === EXIT.usage ? `\nRun 'inference-streams ${commandName} --help' for usage.` : '';
    io.stderr.write(`inference-streams ${commandName}: ${terminalSafe(redact(message))}${help}\n`);
    if (io.verbose && exitCode === EXIT.failure && error instanceof Error && error.stack) io.stderr.write(`${redact(error.stack)}\n`);
  }
  if (context.values?.json === true && !(error instanceof JsonWithStdoutError)) io.stdout.write(`${jsonLineSafe(jsonFailure(commandName, error, message, exitCode))}\n`);
  return exitCode;
}

/** The message in the CLI's words and the exit code of an error. */
function describeFailure(commandName: string, error: unknown, io: CliIO, context: ErrorContext): { message: string; exitCode: number } {
  if (error instanceof UsageError || error instanceof ConfigError) return { message: inCliWords(commandName, error, io, context), exitCode: EXIT.usage };
  if (error instanceof AbortError || io.signal.aborted) return { message: 'interrupted', exitCode: interruptedExitCode(io) };
  const err = error instanceof Error ? error : new Error(String(error));
  return { message: `${err.message}${connectionHint(commandName, err, io, context)}${systemLimitHint(err)}`, exitCode: EXIT.failure };
}

function jsonFailure(commandName: string, error: unknown, message: string, exitCode: number): JsonFailure {
  const facts = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const name = exitCode === EXIT.interrupted || exitCode === EXIT.terminated ? 'AbortError' : error instanceof Error ? error.name : 'Error';
  const described: JsonFailure['error'] = { name, message, exitCode };
  if (error instanceof ConfigError) described.option = error.option;
  if (typeof facts.status === 'number') described.status = facts.status;
  if (typeof facts.endpoint === 'string') described.endpoint = facts.endpoint;
  if (typeof facts.code === 'string') described.code = facts.code;
  if (typeof facts.retries === 'number' && facts.retries > 0) described.retries = facts.retries;
  const fields = (facts.jsonFields ?? {}) as Record<string, unknown>;
  const failure: Record<string, unknown> = { command: commandName, ok: false, error: described, ...fields };
  // Ours win over a command's field of the same name.
  Object.assign(failure, { command: commandName, ok: false, error: described });
  return redactStrings(failure) as JsonFailure;
}

/** `value` with every string in it redacted. */
function redactStrings(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(redactStrings);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactStrings(item)]));
  return value;
}

/** The message of a usage or config error, naming the flag or env var the user set. */
function inCliWords(commandName: string, error: UsageError | ConfigError, io: CliIO, context: ErrorContext): string {
  if (error instanceof UsageError) {
    // "--batch-size must be …": when the value came from INFERENCE_STREAMS_BATCH_SIZE, say so.
    const flag = /^--([a-z0-9-]+)/.exec(error.message)?.[1];
    if (flag === undefined) return error.message;
    const name = settingName(commandName, flag, io, context);
    return name === `--${flag}` ? error.message : `${name}${error.message.slice(flag.length + 2)}`;
  }
  const name = nameOfOption(commandName, error.option, io, context);
  if (name === undefined) return error.message;
  const base = baseOption(error.option);
  const detail = error.option === base ? '' : ` (${error.option})`;
  const prefix = `Invalid option "${error.option}"`;
  return error.message.startsWith(prefix) ? `Invalid ${name}${detail}${error.message.slice(prefix.length)}` : `${name}${detail}: ${error.message}`;
}

/** `labels[3].name` → `labels`. */
function baseOption(option: string): string {
  return /^[A-Za-z0-9]+/.exec(option)?.[0] ?? option;
}

/** The flag or env var behind a library option, or undefined when the command has no such setting. */
function nameOfOption(commandName: string, option: string, io: CliIO, context: ErrorContext): string | undefined {
  const base = baseOption(option);
  const service = SERVICES[commandName];
  if (service && (base === 'apiKey' || base === 'token')) return service.credentialEnv;
  const flagOf = context.command?.flagOf ?? {};
  const mapped = flagOf[option] ?? flagOf[base];
  // A command may map an option straight to an environment variable (`apiKey: 'INNERWORKS_API_KEY'`).
  if (mapped !== undefined && /^[A-Z][A-Z0-9_]*$/.test(mapped)) return mapped;
  const flag = (mapped ?? SHARED_FLAG_OF[base] ?? base.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).replace(/^--/, '');
  const known = context.command ? flag in context.command.options || flag in COMMON_OPTIONS : true;
  return known ? settingName(commandName, flag, io, context) : undefined;
}

/** `--flag` when given on the command line, else the env var it was read from. */
function settingName(commandName: string, flag: string, io: CliIO, context: ErrorContext): string {
  if (context.fromCommandLine?.has(flag)) return `--${flag}`;
  const envName = envNameOf(flag);
  if (io.env[envName] !== undefined && io.env[envName] !== '') return envName;
  const service = SERVICES[commandName];
  const isUrlFlag = service !== undefined && (flag === service.urlFlag || flag === 'base-url' || flag === 'endpoint');
  if (isUrlFlag && io.env[service.urlEnv]) return service.urlEnv;
  return `--${flag}`;
}

/** For a refused connection or an unknown host: which setting points at the server. */
function connectionHint(commandName: string, error: Error, io: CliIO, context: ErrorContext): string {
  const service = SERVICES[commandName];
  const connection = findCause(error, (e): e is ConnectionError => e instanceof ConnectionError);
  if (!service || !connection) return '';
  const values = context.values ?? {};
  const url = [values[service.urlFlag], values['base-url'], io.env[service.urlEnv]].find((v): v is string => typeof v === 'string' && v !== '');
  const at = url ? ` at ${describeUrl(url).replace(/\/$/, '')}` : '';
  const hasFlag = context.command === undefined || service.urlFlag in context.command.options;
  const set = hasFlag ? `set --${service.urlFlag} or ${service.urlEnv}` : `set ${service.urlEnv}`;
  if (connection.code === 'ECONNREFUSED') return `; is the server running${at}? ${set}`;
  if (connection.code === 'ENOTFOUND' || connection.code === 'EAI_AGAIN') return `; is the host name right${at}? ${set}`;
  return '';
}

function findCause<T extends Error>(error: unknown, is: (e: unknown) => e is T): T | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) if (is(e)) return e;
  return undefined;
}
