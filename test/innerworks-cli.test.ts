// `inference-streams export` through main(), against the emulator over loopback.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT, type CliIO } from '../src/cli/command.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../src/emulator/index.js';
import { captureCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';

let emulator: Emulator | undefined;
const dir = tempDir('innerworks-cli-');
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(options: EmulatorOptions): Promise<Emulator> {
  emulator = await startEmulator(options);
  return emulator;
}

function cli(overrides: Partial<CliIO> = {}) {
  const captured = captureCli({ env: { ...emulator?.env }, ...overrides });
  return { ...captured, run: (...args: string[]) => captured.run('export', ...args) };
}

function expectedJsonl(from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += `${JSON.stringify(JSON.parse(emulator!.innerworks.recordJson(i)))}\n`;
  return text;
}

describe('inference-streams export', () => {
  it('exports to a file with a JSON summary, then resumes and says so', async () => {
    await start({ records: 45 });
    const file = join(dir(), 'a.jsonl');
    const first = cli();
    expect(await first.run('--out', file, '--batch-size', '10', '--json')).toBe(EXIT.ok);
    expect(JSON.parse(first.out())).toMatchObject({ files: [file], records: 45, pages: 5, resumed: false });
    expect(await readFile(file, 'utf8')).toBe(expectedJsonl(0, 45));
    emulator!.innerworks.append(5);
    const second = cli();
    expect(await second.run('--out', file, '--batch-size', '10')).toBe(EXIT.ok);
    expect(second.err()).toContain(`Resuming from ${file}.state.json`);
    expect(second.err()).toMatch(/Exported 50 records \(5 new; /);
    expect(second.out()).toBe('');
    expect(await readFile(file, 'utf8')).toBe(expectedJsonl(0, 50));
  });

  it('writes JSONL to stdout with --out - and the summary on stderr', async () => {
    await start({ records: 23 });
    const run = cli();
    expect(await run.run('--out', '-', '--batch-size', '5')).toBe(EXIT.ok);
    expect(run.out()).toBe(expectedJsonl(0, 23));
    expect(run.err()).toMatch(/Exported 23 records \(5 pages/);
    // A JSON summary would be mixed into the data: refused before any request.
    const mixed = cli();
    const requests = emulator!.stats()['innerworks.batch']?.requests;
    expect(await mixed.run('--out', '-', '--json')).toBe(EXIT.usage);
    expect(mixed.err()).toContain('--json cannot be used when data goes to stdout');
    expect(emulator!.stats()['innerworks.batch']?.requests).toBe(requests);
  });

  it('exports time partitions with --since/--until/--partitions', async () => {
    await start({ records: 200 });
    const file = join(dir(), 'p.jsonl');
    const since = new Date(emulator!.innerworks.timestampOf(30)).toISOString();
    const until = String(emulator!.innerworks.timestampOf(150));
    const run = cli();
    expect(await run.run('--out', file, '--since', since, '--until', until, '--partitions', '3', '--batch-size', '9')).toBe(EXIT.ok);
    expect(await readFile(file, 'utf8')).toBe(expectedJsonl(30, 150));
  });

  it('exits 2 for usage errors and bad values, before any request', async () => {
    await start({ records: 10 });
    const cases = [
      [],
      ['--out', join(dir(), 'x.jsonl'), '--batch-size', '0'],
      ['--out', join(dir(), 'x.jsonl'), '--since', String(Date.now() + 3_600_000)],
      ['--out', join(dir(), 'x.jsonl'), '--since', 'yesterday-ish'],
      ['--out', join(dir(), 'x.jsonl'), '--split'],
      ['--out', '-', '--state', 'x'],
      ['--out', join(dir(), 'x.jsonl'), 'extra'],
    ];
    for (const args of cases) {
      const run = cli();
      expect(await run.run(...args), args.join(' ')).toBe(EXIT.usage);
      expect(run.err()).toContain('--help');
    }
    const noKey = cli({ env: { INNERWORKS_BASE_URL: emulator!.url } });
    expect(await noKey.run('--out', '-')).toBe(EXIT.usage);
    expect(noKey.err()).toContain('INNERWORKS_API_KEY');
    expect(emulator!.stats()['innerworks.batch']?.requests ?? 0).toBe(0);
  });

  it('exits 1 on a 401 naming INNERWORKS_API_KEY, never printing the key', async () => {
    await start({ innerworks: { records: 10, apiKeys: ['the-right-key-123'] } });
    const secret = 'cli-wrong-secret-key-555';
    const run = cli({ env: { INNERWORKS_BASE_URL: emulator!.url, INNERWORKS_API_KEY: secret }, verbose: true });
    expect(await run.run('--out', join(dir(), 'auth.jsonl'), '--verbose')).toBe(EXIT.failure);
    expect(run.err()).toContain('INNERWORKS_API_KEY');
    expect(run.err()).toContain('401');
    expect(run.err() + run.out()).not.toContain(secret);
  });

  it('saves state on Ctrl-C, exits 130 with how to resume, and the rerun completes the file', async () => {
    await start({ records: 3000, latencyMs: 10 });
    const file = join(dir(), 'ctrl-c.jsonl');
    const controller = new AbortController();
    const run = cli({ signal: controller.signal });
    const done = run.run('--out', file, '--batch-size', '20');
    setTimeout(() => controller.abort(), 150);
    expect(await done).toBe(EXIT.interrupted);
    expect(run.err()).toContain(`progress is saved in ${file}.state.json`);
    // How much is saved depends on how far the run got in 150 ms (test/cli-progress.test.ts checks the count).
    expect(run.err()).toMatch(/interrupted (with [\d,]+ records saved|before its first page \(nothing new saved\)); /);
    expect(run.err()).toContain(`Run the same command again to resume: inference-streams export --out ${file} --batch-size 20`);
    const state = JSON.parse(await readFile(`${file}.state.json`, 'utf8'));
    expect(state.records).toBeGreaterThan(0);
    expect(state.records).toBeLessThan(3000);
    const rerun = cli();
    expect(await rerun.run('--out', file, '--batch-size', '500')).toBe(EXIT.ok);
    expect(await readFile(file, 'utf8')).toBe(expectedJsonl(0, 3000));
  });

  it('tails new results with --follow until Ctrl-C, then resumes from the saved state', async () => {
    const emu = await start({ records: 50 });
    const file = join(dir(), 'follow.jsonl');
    const controller = new AbortController();
    const run = cli({ signal: controller.signal });
    const done = run.run('--out', file, '--batch-size', '20', '--follow', '--poll-interval-ms', '20');
    const waitForLines = async (n: number) => {
      for (let i = 0; i < 250; i++) {
        const text = await readFile(file, 'utf8').catch(() => '');
        if (text.split('\n').length - 1 >= n) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`the file never reached ${n} lines`);
    };
    await waitForLines(50);
    emu.innerworks.append(30);
    await waitForLines(80);
    controller.abort();
    expect(await done).toBe(EXIT.interrupted);
    expect(await readFile(file, 'utf8')).toBe(expectedJsonl(0, 80));
    emu.innerworks.append(5);
    const rerun = cli();
    expect(await rerun.run('--out', file, '--batch-size', '20')).toBe(EXIT.ok);
    expect(await readFile(file, 'utf8')).toBe(expectedJsonl(0, 85));
  });

  it('runs against an embedded emulator with --emulator', async () => {
    const file = join(dir(), 'embedded.jsonl');
    const run = cli({ env: {} });
    expect(await run.run('--emulator', '--out', file, '--batch-size', '5000', '--json')).toBe(EXIT.ok);
    expect(JSON.parse(run.out())).toMatchObject({ records: 10_000, pages: 2 });
  });
});
