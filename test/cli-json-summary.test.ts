/** Every `--json` summary is one line `{"command": NAME, ..., "elapsedMs": N}`; --json is refused when data goes to stdout. */
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
