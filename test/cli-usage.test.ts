/** The CLI as people expect it: usage, help, version, short flags, did-you-mean, errors in CLI words. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, type CliCommand } from '../src/cli/command.js';
import { commandHelp, optionsOf, reportError } from '../src/cli/main.js';
import { ConfigError, ConnectionError } from '../src/core/errors.js';
import { VERSION } from '../src/core/version.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { captureCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';

const LOADERS: Record<string, () => Promise<{ command: CliCommand }>> = {
  export: () => import('../src/cli/commands/export.js'),
  ingest: () => import('../src/cli/commands/ingest.js'),
  import: () => import('../src/cli/commands/import.js'),
  predict: () => import('../src/cli/commands/predict.js'),
  validation: () => import('../src/cli/commands/validation.js'),
  emulator: () => import('../src/cli/commands/emulator.js'),
  demo: () => import('../src/cli/commands/demo.js'),
};
const COMMANDS = Object.keys(LOADERS);
const flush = () => new Promise((resolve) => setImmediate(resolve));

const dir = tempDir('cli-usage-');
let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

describe('usage, help and version', () => {
  it('with no arguments prints usage on stderr, nothing on stdout, exit 2', async () => {
    const run = captureCli();
    expect(await run.run()).toBe(EXIT.usage);
    await flush();
    expect(run.out()).toBe('');
    expect(run.err()).toContain('Usage: inference-streams <command>');
  });

  it('help CMD prints that command\'s help; help with an unknown command exits 2', async () => {
    for (const name of COMMANDS) {
      const run = captureCli();
      expect(await run.run('help', name)).toBe(EXIT.ok);
      await flush();
      expect(run.out()).toContain(`Usage: inference-streams ${name}`);
    }
    const unknown = captureCli();
    expect(await unknown.run('help', 'exprot')).toBe(EXIT.usage);
    await flush();
    expect(unknown.err()).toContain('did you mean "export"?');
  });

  it('version, --version, -V and -v print the version', async () => {
    for (const flag of ['version', '--version', '-V', '-v']) {
      const run = captureCli();
      expect(await run.run(flag)).toBe(EXIT.ok);
      await flush();
      expect(run.out()).toBe(`${VERSION}\n`);
    }
  });

  it('every short flag is listed beside its long flag in --help, and means the same in every command', async () => {
    const meaning = new Map<string, string>();
    for (const name of COMMANDS) {
      const { command } = await LOADERS[name]();
      const run = captureCli();
      expect(await run.run(name, '--help')).toBe(EXIT.ok);
      await flush();
      expect(run.out()).toBe(commandHelp(command));
      for (const [flag, spec] of Object.entries(optionsOf(command))) {
        if (spec.short === undefined) continue;
        expect(run.out(), `${name} -${spec.short}`).toMatch(new RegExp(`^  -${spec.short}, --${flag}\\b`, 'm'));
        expect(meaning.get(spec.short) ?? flag, `-${spec.short} in ${name}`).toBe(flag);
        meaning.set(spec.short, flag);
      }
    }
    expect(meaning.get('i')).toBe('in');
    expect(meaning.get('o')).toBe('out');
  });

  it('-i works as --in for ingest (a command that declares no short flags itself)', async () => {
    const file = join(dir(), 'items.jsonl');
    await writeFile(file, '{"id":"a"}\n{"id":"b"}\n');
    const run = captureCli({ env: emulator.env });
    expect(await run.run('ingest', '--namespace', 'short-flags', '-i', file, '--json')).toBe(EXIT.ok);
    await flush();
    expect(JSON.parse(run.out())).toMatchObject({ command: 'ingest', objects: 2 });
  });
});

describe('unknown flags', () => {
  it('suggests the closest flag of the command', async () => {
    const run = captureCli();
    expect(await run.run('export', '--batchsize', '5')).toBe(EXIT.usage);
    await flush();
    expect(run.err()).toContain('unknown option --batchsize; did you mean --batch-size?');
    const far = captureCli();
    expect(await far.run('export', '--zzzzzz')).toBe(EXIT.usage);
    await flush();
    expect(far.err()).toContain('unknown option --zzzzzz');
    expect(far.err()).not.toContain('did you mean');
  });
});

describe('errors name CLI flags and env vars', () => {
  it('a library ConfigError names the flag given (--since, not startTime)', async () => {
    const run = captureCli({ env: emulator.env });
    expect(await run.run('export', '--out', join(dir(), 'x.jsonl'), '--since', '2999-01-01')).toBe(EXIT.usage);
    await flush();
    expect(run.err()).toContain('--since');
    expect(run.err()).not.toContain('startTime');
  });

  it('... or the INFERENCE_STREAMS_* variable it came from', async () => {
    const since = captureCli({ env: { ...emulator.env, INFERENCE_STREAMS_SINCE: '2999-01-01' } });
    expect(await since.run('export', '--out', join(dir(), 'y.jsonl'))).toBe(EXIT.usage);
    const version = captureCli({ env: { ...emulator.env, INFERENCE_STREAMS_VERSION: 'newest' } });
    expect(await version.run('validation', '--project', 'p', '--dataset', 'd')).toBe(EXIT.usage);
    await flush();
    expect(since.err()).toContain('INFERENCE_STREAMS_SINCE');
    expect(since.err()).not.toContain('startTime');
    expect(version.err()).toMatch(/Invalid INFERENCE_STREAMS_VERSION: must be/);
  });

  it('a flag parse error names the variable when the value came from the environment', async () => {
    const run = captureCli({ env: { ...emulator.env, INFERENCE_STREAMS_BATCH_SIZE: '5000' } });
    expect(await run.run('ingest', '--namespace', 'n', '--in', '/dev/null')).toBe(EXIT.usage);
    const flag = captureCli({ env: { ...emulator.env } });
    expect(await flag.run('ingest', '--namespace', 'n', '--in', '/dev/null', '--batch-size', '5000')).toBe(EXIT.usage);
    await flush();
    expect(run.err()).toMatch(/INFERENCE_STREAMS_BATCH_SIZE must be an integer/);
    expect(flag.err()).toMatch(/--batch-size must be an integer/);
  });

  it("a command's flagOf maps options to flags (with or without --) or to env vars", async () => {
    const command: CliCommand = {
      name: 'fake',
      help: '',
      options: { queue: { type: 'string' }, 'lock-ms': { type: 'string' } },
      flagOf: { queueName: '--queue', lockDuration: 'lock-ms', redisUrl: 'REDIS_URL' },
      run: async () => EXIT.ok,
    };
    const cases: Array<[string, string]> = [
      ['queueName', 'Invalid --queue: '],
      ['lockDuration', 'Invalid --lock-ms: '],
      ['redisUrl', 'Invalid REDIS_URL: '],
      ['unknownThing', 'Invalid option "unknownThing": '],
    ];
    for (const [option, expected] of cases) {
      const run = captureCli();
      reportError('fake', new ConfigError(option, 'is wrong'), run.io, { command, fromCommandLine: new Set(['queue', 'lock-ms']) });
      await flush();
      expect(run.err()).toContain(expected);
    }
  });

  it('a credential ConfigError names the vendor variable', async () => {
    const run = captureCli();
    expect(reportError('ingest', new ConfigError('apiKey', 'must contain only Latin-1 characters'), run.io)).toBe(EXIT.usage);
    await flush();
    expect(run.err()).toContain('Invalid SAFETYKIT_API_KEY: must contain only Latin-1 characters');
  });
});

describe('a refused connection', () => {
  it('names the setting that points at the server, per command', async () => {
    const expected: Record<string, string> = {
      export: 'set --base-url or INNERWORKS_BASE_URL',
      ingest: 'set --base-url or SAFETYKIT_BASE_URL',
      import: 'set --base-url or SAFETYKIT_BASE_URL',
      predict: 'set --endpoint or REINFER_ENDPOINT',
      validation: 'set --endpoint or REINFER_ENDPOINT',
    };
    for (const [name, hint] of Object.entries(expected)) {
      const run = captureCli();
      const error = new ConnectionError('GET /x', 'connection failed (ECONNREFUSED)', { code: 'ECONNREFUSED' });
      expect(reportError(name, error, run.io)).toBe(EXIT.failure);
      await flush();
      expect(run.err()).toContain(`is the server running? ${hint}`);
    }
  });

  it('end to end: validation against a closed port (spawned CLI)', { timeout: 60_000 }, async () => {
    // Port 1: nothing listens there, and no test server can be given it (they listen on port 0;
    // a port freed by a probe could be handed to a parallel test's server during the retries).
    const port = 1;
    const child = spawn(process.execPath, ['dist/cli/main.js', 'validation', '--project', 'p', '--dataset', 'd'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, REINFER_TOKEN: 'test-token-123', REINFER_ENDPOINT: `http://127.0.0.1:${port}` },
    });
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    const [code] = await once(child, 'exit');
    expect(code).toBe(EXIT.failure);
    expect(err).toContain(`is the server running at http://127.0.0.1:${port}? set --endpoint or REINFER_ENDPOINT`);
  });
});
