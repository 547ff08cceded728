/**
 * One clear line for an error that ends a command, in the CLI's words: library options become
 * the flags or environment variables the user actually set, and a refused connection says which
 * setting points at the server.
 */
import { AbortError, ConfigError, ConnectionError, describeUrl, redact } from '../core/errors.js';
import { COMMON_OPTIONS, EXIT, UsageError, interruptedExitCode, isReported, type CliCommand, type CliIO, type OptionValues } from './command.js';
import { systemLimitHint, terminalSafe } from './terminal-text.js';

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

/** Print one clear line for an error (the stack with --verbose) and choose the exit code. */
export function reportError(commandName: string, error: unknown, io: CliIO, context: ErrorContext = {}): number {
  // A command that printed its own line (e.g. "interrupted after N records; to continue …") marks the error.
  const quiet = isReported(error);
  const say = (message: string) => {
    if (!quiet) io.stderr.write(`inference-streams ${commandName}: ${terminalSafe(redact(message))}\n`);
  };
  if (error instanceof UsageError || error instanceof ConfigError) {
    say(`${inCliWords(commandName, error, io, context)}\nRun 'inference-streams ${commandName} --help' for usage.`);
    return EXIT.usage;
  }
  if (error instanceof AbortError || io.signal.aborted) {
    say('interrupted');
    return interruptedExitCode(io);
  }
  const err = error instanceof Error ? error : new Error(String(error));
  say(`${err.message}${connectionHint(commandName, err, io, context)}${systemLimitHint(err)}`);
  if (!quiet && io.verbose && err.stack) io.stderr.write(`${redact(err.stack)}\n`);
  return EXIT.failure;
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
