/** `inference-streams emulator`: run the local emulator until Ctrl-C. */
import { parseFaultSpec, startEmulator, type Emulator } from '../../emulator/index.js';
import { COMMON_HELP, EMULATOR_MAX_RECORDS, UsageError, interruptedExitCode, parseIntegerFlag, parseNumberFlag, writeJsonSummary, type CliCommand } from '../command.js';
import { innerworksDataLine, innerworksDataRange } from '../emulator-data.js';

export const command: CliCommand = {
  name: 'emulator',
  help: `Usage: inference-streams emulator [options]

Serves the Innerworks, SafetyKit and Reinfer APIs on one local port, with generated data,
until Ctrl-C. Prints its URL and the environment variables that point the library at it.

Options:
  --port N               port to listen on (default 8787; 0 picks a free one)
  --host H               interface (default 127.0.0.1)
  --records N            Innerworks records at start, 0..1000000000000 (default 10000: three
                         results a second from 2024-01-01, packed closer when they would not
                         end before now; the startup lines show the range)
  --grow-per-second R    Innerworks records appended per second (default 0)
  --seed S               seed of all generated data (default 1)
  --latency-ms MS        added to every answer (default 0)
  --faults SPEC          random faults, e.g. rate=0.1,kinds=429,503,reset
                         kinds: 429 500 502 503 reset truncate slow-headers slow-body
  --api-key KEY          accept only this Innerworks and SafetyKit API key; others get the
                         vendor's 401 (default: any non-empty key)
  --safetykit-key KEY    accept only this SafetyKit key (default: --api-key, or any)
  --token TOKEN          accept only this Reinfer token (default: any non-empty token)
${COMMON_HELP}

Examples:
  inference-streams emulator --records 1000000
  inference-streams emulator --port 0 --latency-ms 50 --faults rate=0.2,kinds=429,503,reset
  inference-streams emulator --api-key test-key --token test-token   # a wrong credential gets 401
`,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    records: { type: 'string' },
    'grow-per-second': { type: 'string' },
    seed: { type: 'string' },
    'latency-ms': { type: 'string' },
    faults: { type: 'string' },
    'api-key': { type: 'string' },
    'safetykit-key': { type: 'string' },
    token: { type: 'string' },
  },
  emulatorRefused: 'it is the emulator (--records N sets its Innerworks records)',
  async run(values, _positionals, io) {
    const started = Date.now();
    let faults;
    try {
      faults = typeof values.faults === 'string' ? parseFaultSpec(values.faults) : undefined;
    } catch (error) {
      throw new UsageError(`--faults: ${(error as Error).message}`);
    }
    const port = parseIntegerFlag('port', values.port as string | undefined, 0, 65535) ?? 8787;
    const host = (values.host as string | undefined) ?? '127.0.0.1';
    const apiKey = credentialFlag('api-key', values['api-key']);
    const safetykitKey = credentialFlag('safetykit-key', values['safetykit-key']) ?? apiKey;
    const token = credentialFlag('token', values.token);
    let emulator: Emulator;
    try {
      emulator = await startEmulator({
        port,
        host,
        seed: parseIntegerFlag('seed', values.seed as string | undefined, 0, 2 ** 32 - 1),
        latencyMs: parseIntegerFlag('latency-ms', values['latency-ms'] as string | undefined, 0, 600_000),
        faults,
        innerworks: {
          records: parseIntegerFlag('records', values.records as string | undefined, 0, EMULATOR_MAX_RECORDS),
          growPerSecond: parseNumberFlag('grow-per-second', values['grow-per-second'] as string | undefined, 0, 1e7),
          apiKeys: apiKey === undefined ? undefined : [apiKey],
        },
        safetykit: { apiKeys: safetykitKey === undefined ? undefined : [safetykitKey] },
        reinfer: { tokens: token === undefined ? undefined : [token] },
      });
    } catch (error) {
      throw listenError(error as NodeJS.ErrnoException, host, port);
    }
    // Ready to paste: with --api-key/--token these are the credentials just given (test ones, for a local server).
    const exports = Object.entries(emulator.env).map(([key, value]) => `export ${key}=${value}`);
    // Written once listening (elapsedMs is the start-up time), so a script can read the URL.
    if (values.json === true) writeJsonSummary(io, 'emulator', { url: emulator.url, port: emulator.port, env: emulator.env, innerworks: innerworksDataRange(emulator.innerworks), elapsedMs: Date.now() - started });
    else {
      // What a first try needs and cannot guess: which model versions exist and some comment uids.
      const uids = emulator.reinfer.commentUids(3).join(', ');
      const { live, staging, latest } = emulator.reinfer.versions;
      const reinfer = `Reinfer model versions 1..${latest} (live = ${live}, staging = ${staging}); comment uids for --uids: ${uids}, …`;
      // The time range, so that export --since/--until can be chosen inside the data.
      const innerworks = `${innerworksDataLine(emulator.innerworks)}${growth(values['grow-per-second'])}`;
      io.stdout.write(`Emulator listening on ${emulator.url}\n\n${exports.join('\n')}\n\n${innerworks}\n${reinfer}\nPress Ctrl-C to stop.\n`);
    }
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) return resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await emulator.close();
    io.stderr.write('emulator stopped\n');
    // Stopped by a signal, as a server is: 130 after Ctrl-C, 143 after SIGTERM.
    return interruptedExitCode(io);
  },
};

/** ", growing by R a second" when --grow-per-second is set. */
function growth(value: unknown): string {
  const perSecond = typeof value === 'string' ? Number(value) : 0;
  return perSecond > 0 ? `, growing by ${value} a second from now on` : '';
}

/** A credential flag's value: non-empty, printable, no spaces (a Bearer header could not carry it). */
function credentialFlag(flag: string, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (!/^[\x21-\x7e]+$/.test(value)) throw new UsageError(`--${flag} must be non-empty printable ASCII without spaces`);
  return value;
}

/** A port that cannot be listened on, said plainly with what to do about it. */
function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  if (error.code === 'EADDRINUSE') return new Error(`port ${port} on ${host} is already in use (another emulator?); choose another with --port N, or --port 0 for a free one`);
  if (error.code === 'EACCES') return new Error(`not allowed to listen on port ${port} on ${host}; use a port above 1023, or --port 0 for a free one`);
  if (error.code === 'EADDRNOTAVAIL') return new Error(`cannot listen on ${host}: no such local address; try --host 127.0.0.1`);
  return error;
}
