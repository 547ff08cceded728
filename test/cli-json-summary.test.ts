/** Every `--json` summary is one line `{"command": NAME, ..., "elapsedMs": N}`; --json is refused when data goes to stdout. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, UsageError, refuseJsonWithStdout, writeJsonSummary } from '../src/cli/command.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { captureCli } from './helpers/cli.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

describe('--json summaries', () => {
  it('validation --json: command, the statistics at top level, elapsedMs', async () => {
    const run = captureCli({ env: emulator.env });
    expect(await run.run('validation', '--project', 'acme', '--dataset', 'emails', '--json')).toBe(EXIT.ok);
    const lines = run.out().trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]);
    expect(Object.keys(summary)[0]).toBe('command');
    expect(summary).toMatchObject({ command: 'validation', project: 'acme', dataset: 'emails' });
    expect(typeof summary.dataset_score).toBe('number');
    expect(typeof summary.elapsedMs).toBe('number');
  });

  it('emulator --json: command, url, env, elapsedMs', async () => {
    const controller = new AbortController();
    const run = captureCli({ signal: controller.signal });
    const done = run.run('emulator', '--port', '0', '--json');
    for (let i = 0; i < 200 && !run.out().includes('\n'); i++) await new Promise((r) => setTimeout(r, 10));
    const summary = JSON.parse(run.out().split('\n')[0]);
    controller.abort();
    await done;
    expect(Object.keys(summary)[0]).toBe('command');
    expect(summary.command).toBe('emulator');
    expect(summary.env.INNERWORKS_BASE_URL).toBe(summary.url);
    expect(typeof summary.elapsedMs).toBe('number');
  });

  it('writeJsonSummary puts command first and keeps it over a field of the same name', () => {
    const run = captureCli();
    writeJsonSummary(run.io, 'ingest', { command: 'other', objects: 3, requestIds: ['a'], elapsedMs: 5 });
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        expect(run.out()).toBe('{"command":"ingest","objects":3,"requestIds":["a"],"elapsedMs":5}\n');
        resolve();
      }),
    );
  });

  it('refuseJsonWithStdout throws a UsageError only for --json with data on stdout', () => {
    expect(() => refuseJsonWithStdout({ json: true }, true)).toThrow(UsageError);
    expect(() => refuseJsonWithStdout({ json: true }, true)).toThrow(/--json cannot be used when data goes to stdout \(--out -\)/);
    expect(() => refuseJsonWithStdout({ json: true }, true, '--results-out -')).toThrow(/\(--results-out -\)/);
    expect(() => refuseJsonWithStdout({ json: true }, false)).not.toThrow();
    expect(() => refuseJsonWithStdout({}, true)).not.toThrow();
  });
});

describe('--json on failure: one line {"command", "ok": false, "error": {...}} on stdout, for every command', () => {
  // Wrong credentials, long enough to be registered as secrets: never in the output.
  const WRONG = { INNERWORKS_API_KEY: 'wrong-innerworks-key-s3cr3t', SAFETYKIT_API_KEY: 'wrong-safetykit-key-s3cr3t', REINFER_TOKEN: 'wrong-reinfer-token-s3cr3t' };

  /** Run with --json; the one line on stdout, parsed. */
  async function failing(env: NodeJS.ProcessEnv, args: string[], exitCode: number, stdinText?: string): Promise<{ error: Record<string, unknown>; [field: string]: unknown }> {
    const run = captureCli({ env, stdinText });
    expect(await run.run(...args, '--json'), `${args.join(" ")}: ${run.err()}`).toBe(exitCode);
    const lines = run.out().trim().split('\n');
    expect(lines, run.out()).toHaveLength(1);
    for (const secret of Object.values(WRONG)) expect(run.out()).not.toContain(secret);
    const failure = JSON.parse(lines[0]);
    expect(Object.keys(failure).slice(0, 3)).toEqual(['command', 'ok', 'error']);
    expect(failure).toMatchObject({ command: args[0], ok: false, error: { exitCode } });
    expect(typeof failure.error.name).toBe('string');
    expect(typeof failure.error.message).toBe('string');
    // The same words as the line on stderr.
    expect(run.err()).toContain(failure.error.message);
    return failure;
  }

  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-json-failure-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('an API refusal (401) of export, ingest, import, predict and validation: name, status, endpoint; no secret', async () => {
    const strict = await startEmulator({ innerworks: { apiKeys: ['right-innerworks-key'] }, safetykit: { apiKeys: ['right-safetykit-key'] }, reinfer: { tokens: ['right-reinfer-token'] } });
    try {
      await refusals({ ...strict.env, ...WRONG });
    } finally {
      await strict.close();
    }
  });

  async function refusals(env: NodeJS.ProcessEnv): Promise<void> {
    const input = join(dir, 'in.jsonl');
    await writeFile(input, '{"id":"a","text":"x"}\n');
    const docs = join(dir, 'docs.jsonl');
    await writeFile(docs, '{"messages":[{"body":{"text":"hi"}}]}\n');
    const cases: [string[], string?][] = [
      [['export', '--out', join(dir, 'x.jsonl')]],
      [['ingest', '--namespace', 'n', '--in', input]],
      [['import', '--namespace', 'n', '--in', input]],
      [['predict', '--project', 'acme', '--dataset', 'emails', '--version', 'live', '--in', docs, '--out', join(dir, 'p.jsonl')]],
      [['validation', '--project', 'acme', '--dataset', 'emails']],
    ];
    for (const [args] of cases) {
      const failure = await failing(env, args, EXIT.failure);
      expect(failure.error, args[0]).toMatchObject({ name: 'AuthenticationError', status: 401 });
      expect(typeof failure.error.endpoint, args[0]).toBe('string');
    }
  }

  it('usage and config errors (exit 2) of every command, unknown options included; ConfigError names its option', async () => {
    const env = { ...emulator.env };
    expect((await failing(env, ['export', '--out', join(dir, 'r.duckdb')], EXIT.usage)).error).toMatchObject({ name: 'ConfigError', option: 'file' });
    expect((await failing(env, ['export'], EXIT.usage)).error).toMatchObject({ name: 'UsageError', message: expect.stringContaining('--out FILE') });
    // Refused because the data goes to stdout: stdout stays the data's, so no JSON there either.
    const toStdout = captureCli({ env });
    expect(await toStdout.run('export', '--out', '-', '--json')).toBe(EXIT.usage);
    expect(toStdout.out()).toBe('');
    expect((await failing(env, ['export', '--bogus'], EXIT.usage)).error.message).toContain('unknown option --bogus');
    for (const args of [['ingest'], ['import'], ['predict', '--out', join(dir, 'u.jsonl')], ['validation'], ['status'], ['worker'], ['emulator', '--port', 'x']]) {
      expect((await failing(env, args, EXIT.usage)).error.name, args[0]).toMatch(/UsageError|ConfigError/);
    }
  });

  it('ingest keeps what it sent before the failure beside the error', async () => {
    const input = join(dir, 'bad.jsonl');
    await writeFile(input, '{"id":"a"}\n{"id":"b"}\nnot json\n');
    const failure = await failing({ ...emulator.env }, ['ingest', '--namespace', 'n', '--in', input, '--batch-size', '1'], EXIT.failure);
    expect(failure).toMatchObject({ namespace: 'n', objects: 2 });
    expect(failure.requestIds).toHaveLength(2);
  });
});


describe('--json lines are safe to print', () => {
  it('a bad line quoting DEL, C1 and bidi characters: the failure line escapes them and still parses', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'is-json-safe-'));
    try {
      const file = join(dir, 'bad.jsonl');
      // Not JSON: V8's message quotes the line, raw characters included.
      await writeFile(file, '{"id":"a"}\n{"id": "b" \u202e\u0085\u007f oops}\n');
      const run = captureCli({ env: emulator.env });
      expect(await run.run('ingest', '--namespace', 'safe-json', '--in', file, '--json')).toBe(EXIT.failure);
      const line = run.out().trim().split('\n').at(-1)!;
      expect(line).not.toMatch(/[\u007f-\u009f\u202a-\u202e]/);
      expect(line).toContain('\\u202e');
      const failure = JSON.parse(line);
      expect(failure.ok).toBe(false);
      expect(failure.error.message).toContain('\u202e');
      expect(run.err()).not.toMatch(/[\u007f-\u009f\u202a-\u202e]/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
