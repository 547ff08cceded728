import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { EXIT, type CliIO } from '../src/cli/command.js';
import { main } from '../src/cli/main.js';
import { captureCli } from './helpers/cli.js';

function io(overrides: Partial<CliIO> = {}) {
  return captureCli(overrides);
}

describe('cli', () => {
  it('prints usage with every command for --help, and exits 2 with no command', async () => {
    const run = io();
    expect(await main(['--help'], run.io)).toBe(EXIT.ok);
    for (const name of ['export', 'ingest', 'import', 'predict', 'validation', 'emulator', 'demo']) expect(run.out()).toContain(name);
    expect(run.out()).toMatch(/Exit codes: 0 ok, 1 API or I\/O error, 2 usage error, 130 interrupted \(Ctrl-C\), 143 terminated \(SIGTERM\)/);
    expect(await main([], io().io)).toBe(EXIT.usage);
  });

  it('exits 2 for an unknown command or flag', async () => {
    const unknown = io();
    expect(await main(['exprot'], unknown.io)).toBe(EXIT.usage);
    expect(unknown.err()).toContain('unknown command "exprot"');
    const badFlag = io();
    expect(await main(['emulator', '--nope'], badFlag.io)).toBe(EXIT.usage);
    expect(badFlag.err()).toMatch(/--nope/);
  });

  it('prints help for every command', async () => {
    for (const name of ['export', 'ingest', 'import', 'predict', 'validation', 'emulator', 'demo']) {
      const run = io();
      expect(await main([name, '--help'], run.io)).toBe(EXIT.ok);
      expect(run.out()).toContain(`inference-streams ${name}`);
    }
  });

  it('runs the emulator command until the signal aborts', async () => {
    const controller = new AbortController();
    const run = io({ signal: controller.signal });
    const done = main(['emulator', '--port', '0', '--json'], run.io);
    for (let i = 0; i < 100 && !run.out().includes('\n'); i++) await new Promise((r) => setTimeout(r, 20));
    const { url, env } = JSON.parse(run.out().split('\n')[0]);
    expect(env.INNERWORKS_BASE_URL).toBe(url);
    const res = await fetch(`${url}/no-such-route`);
    expect(res.status).toBe(404);
    controller.abort();
    expect(await done).toBe(EXIT.interrupted);
  });

  it('reads any flag from INFERENCE_STREAMS_* env vars, the command line winning', async () => {
    const fromEnv = io({ env: { INFERENCE_STREAMS_FAULTS: 'rate=7' } });
    expect(await main(['emulator'], fromEnv.io)).toBe(EXIT.usage);
    // The value came from the environment, so the message names the variable, not the flag.
    expect(fromEnv.err()).toMatch(/INFERENCE_STREAMS_FAULTS: /);
    const badBoolean = io({ env: { INFERENCE_STREAMS_JSON: 'maybe' } });
    expect(await main(['emulator'], badBoolean.io)).toBe(EXIT.usage);
    expect(badBoolean.err()).toMatch(/INFERENCE_STREAMS_JSON must be true or false/);
  });

  it('refuses --json when the data also goes to stdout', async () => {
    const run = io();
    expect(await main(['predict', '--project', 'p', '--dataset', 'd', '--json'], run.io)).toBe(EXIT.usage);
    expect(run.err()).toMatch(/--json cannot be used when data goes to stdout \(predictions on stdout: add --out FILE\)/);
    expect(run.out()).toBe('');
  });

  it('rejects bad emulator flags with exit 2', async () => {
    const run = io();
    expect(await main(['emulator', '--faults', 'rate=5'], run.io)).toBe(EXIT.usage);
    expect(run.err()).toMatch(/--faults/);
  });

  it('the built binary prints usage (node dist/cli/main.js --help)', async () => {
    const child = spawn(process.execPath, ['dist/cli/main.js', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(out).toContain('Usage: inference-streams <command>');
  });
});
