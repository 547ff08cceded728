/** `inference-streams emulator`: run the local emulator until Ctrl-C. */
import { parseFaultSpec, startEmulator } from '../../emulator/index.js';
import { COMMON_HELP, UsageError, interruptedExitCode, parseIntegerFlag, parseNumberFlag, writeJsonSummary, type CliCommand } from '../command.js';

export const command: CliCommand = {
  name: 'emulator',
  summary: 'Run a local emulator of all three APIs, with fault injection',
  help: `Usage: inference-streams emulator [options]

Serves the Innerworks, SafetyKit and Reinfer APIs on one local port, with generated data,
until Ctrl-C. Prints its URL and the environment variables that point the library at it.

Options:
  --port N               port to listen on (default 8787; 0 picks a free one)
  --host H               interface (default 127.0.0.1)
  --records N            Innerworks records at start (default 10000)
  --grow-per-second R    Innerworks records appended per second (default 0)
  --seed S               seed of all generated data (default 1)
  --latency-ms MS        added to every answer (default 0)
  --faults SPEC          random faults, e.g. rate=0.1,kinds=429,503,reset
                         kinds: 429 500 502 503 reset truncate slow-headers slow-body
${COMMON_HELP}

Examples:
  inference-streams emulator --records 1000000
  inference-streams emulator --port 0 --latency-ms 50 --faults rate=0.2,kinds=429,503,reset
`,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    records: { type: 'string' },
    'grow-per-second': { type: 'string' },
    seed: { type: 'string' },
    'latency-ms': { type: 'string' },
    faults: { type: 'string' },
  },
  async run(values, _positionals, io) {
    const started = Date.now();
    let faults;
    try {
      faults = typeof values.faults === 'string' ? parseFaultSpec(values.faults) : undefined;
    } catch (error) {
      throw new UsageError(`--faults: ${(error as Error).message}`);
    }
    const emulator = await startEmulator({
      port: parseIntegerFlag('port', values.port as string | undefined, 0, 65535) ?? 8787,
      host: (values.host as string | undefined) ?? '127.0.0.1',
      seed: parseIntegerFlag('seed', values.seed as string | undefined, 0, 2 ** 32 - 1),
      latencyMs: parseIntegerFlag('latency-ms', values['latency-ms'] as string | undefined, 0, 600_000),
      faults,
      innerworks: {
        records: parseIntegerFlag('records', values.records as string | undefined, 0, 1e12),
        growPerSecond: parseNumberFlag('grow-per-second', values['grow-per-second'] as string | undefined, 0, 1e7),
      },
    });
    const exports = Object.entries(emulator.env).map(([key, value]) => `export ${key}=${value}`);
    // Written once listening (elapsedMs is the start-up time), so a script can read the URL.
    if (values.json === true) writeJsonSummary(io, 'emulator', { url: emulator.url, port: emulator.port, env: emulator.env, elapsedMs: Date.now() - started });
    else io.stdout.write(`Emulator listening on ${emulator.url}\n\n${exports.join('\n')}\n\nPress Ctrl-C to stop.\n`);
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
