// `inference-streams ingest --in x.jsonl`, SIGKILLed at random moments under 10 % injected faults
// and rerun each time: every id added, and the objects the emulator received bounded by
// N + (kills + 1) × (concurrency + 1) × batch size; a finished ingest run again sends nothing; a
// changed file and another namespace are refused; a second run while one runs is refused.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emulatorPerTest } from './helpers/destination-tests.js';
import { killLoop, usePrivateBuild } from './helpers/kill-loop.js';
import { tempDir } from './helpers/temp-dir.js';

const startEmulator = emulatorPerTest();
const cli = usePrivateBuild('ingest-kill');
const dir = tempDir('ingest-kill-');

const N = 5000;
const BATCH = 40;
const CONCURRENCY = 4;
// Faults the server answers without running the handler (an add refused is not stored): what the
// emulator received beyond N is then what the kills made the CLI send again, nothing else.
const FAULTS = { rate: 0.1, kinds: ['429', '500', '503'] as ('429' | '500' | '503')[], retryAfterMs: 5, routes: ['safetykit.add'] };

async function inputFile(name: string): Promise<string> {
  const path = join(dir(), name);
  await writeFile(path, Array.from({ length: N }, (_, i) => `${JSON.stringify({ id: `item-${i}`, title: `Item ${i}`, price: i })}\n`).join(''));
  return path;
}

const args = (namespace: string, input: string) => ['ingest', '--namespace', namespace, '--in', input, '--batch-size', String(BATCH), '--concurrency', String(CONCURRENCY), '--json'];
const total = (counts: Map<string, number>) => [...counts.values()].reduce((sum, count) => sum + count, 0);

/** One run of the private build to its end: exit code, stdout, stderr. */
async function run(argv: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [cli(), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out, err };
}

describe('ingest --in FILE survives SIGKILLs', () => {
  it('adds every id, resends at most the batches in flight per kill, and a finished run sends nothing', async () => {
    // ~80 ms an add: a run takes a few seconds, long enough to be killed five times.
    const emulator = await startEmulator({ port: 0, latencyMs: 80, faults: FAULTS });
    const input = await inputFile('items.jsonl');
    const result = await killLoop({ cli: cli(), args: args('killed', input), env: { ...emulator.env }, minKills: 5, killAfterMs: () => 500 + Math.random() * 1200 });
    expect(result.kills).toBeGreaterThanOrEqual(5);
    expect(result.stderr).toMatch(/resuming from line \d+ of /);
    expect(JSON.parse(result.stdout)).toMatchObject({ resumable: true, resumed: true, totalObjects: N, position: { line: N } });
    expect(emulator.stats()['safetykit.add'].faults).toBeGreaterThan(0);
    const ids = emulator.safetykit.addedIds('killed');
    expect(ids.size).toBe(N);
    for (let i = 0; i < N; i++) expect(ids.has(`item-${i}`)).toBe(true);
    const received = total(ids);
    expect(received).toBeLessThanOrEqual(N + (result.kills + 1) * (CONCURRENCY + 1) * BATCH);

    // Run again: nothing is sent.
    const again = await run(args('killed', input), emulator.env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ objects: 0, requestIds: [], resumed: true, totalObjects: N });
    expect(total(emulator.safetykit.addedIds('killed'))).toBe(received);
  }, 180_000);

  it('saves the acknowledged position on SIGINT (exit 130), and the rerun continues from it', async () => {
    const emulator = await startEmulator({ port: 0, latencyMs: 80 });
    const input = await inputFile('interrupted.jsonl');
    const state = `${input}.ingest-state.json`;
    const child = spawn(process.execPath, [cli(), ...args('interrupted', input)], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', ...emulator.env } });
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    const exited = once(child, 'exit') as Promise<[number | null]>;
    for (let i = 0; i < 400 && !existsSync(state); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    child.kill('SIGINT');
    const [code] = await exited;
    expect(code, err).toBe(130);
    const saved = JSON.parse(await readFile(state, 'utf8')) as { position: { line: number }; objects: number; finished: boolean };
    expect(saved.finished).toBe(false);
    expect(saved.position.line).toBeGreaterThan(0);
    expect(saved.position.line).toBeLessThan(N);
    expect(saved.objects).toBe(saved.position.line);
    expect(err).toMatch(/Run the same command again to resume/);
    // The command itself, ready to paste.
    expect(err).toContain(`To resume: inference-streams ingest ${args('interrupted', input).slice(1).join(' ')}\n`);
    const again = await run(args('interrupted', input), emulator.env);
    expect(again.code).toBe(0);
    expect(again.err).toContain(`resuming from line ${saved.position.line + 1} of `);
    expect(JSON.parse(again.out)).toMatchObject({ resumedFrom: saved.position, totalObjects: N, objects: N - saved.position.line });
    const ids = emulator.safetykit.addedIds('interrupted');
    expect(ids.size).toBe(N);
    expect(total(ids)).toBeLessThanOrEqual(N + (CONCURRENCY + 1) * BATCH);
  }, 60_000);

  it('refuses another namespace and a changed file, naming the flag and the state file', async () => {
    const emulator = await startEmulator({ port: 0 });
    const input = await inputFile('refused.jsonl');
    expect((await run(args('first', input), emulator.env)).code).toBe(0);
    const other = await run(args('second', input), emulator.env);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/Invalid --namespace: the state file .*refused\.jsonl\.ingest-state\.json records an ingest .* into namespace "first"/);
    await appendFile(input, '{"id":"late"}\n');
    const changed = await run(args('first', input), emulator.env);
    expect(changed.code).toBe(2);
    expect(changed.err).toMatch(/Invalid --in: .*refused\.jsonl changed since the ingest recorded in .*refused\.jsonl\.ingest-state\.json/);
    expect(emulator.safetykit.addedIds('second').size).toBe(0);
    expect(total(emulator.safetykit.addedIds('first'))).toBe(N);
  }, 60_000);

  it('refuses a second run of the same ingest while the first runs (LockedError, naming its pid)', async () => {
    const emulator = await startEmulator({ port: 0, faults: { rate: 1, kinds: ['slow-headers'], slowMs: 300, routes: ['safetykit.add'] } });
    const input = await inputFile('locked.jsonl');
    const first = spawn(process.execPath, [cli(), ...args('locked', input)], { stdio: 'ignore', env: { PATH: process.env.PATH ?? '', ...emulator.env } });
    const exited = once(first, 'exit');
    try {
      const lock = `${input}.ingest-state.json.lock`;
      for (let i = 0; i < 200 && !existsSync(lock); i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(JSON.parse(await readFile(lock, 'utf8'))).toMatchObject({ pid: first.pid });
      const second = await run(args('locked', input), emulator.env);
      expect(second.code).toBe(1);
      expect(second.err).toMatch(new RegExp(`An ingest of .*locked\\.jsonl .*is already running \\(pid ${first.pid}`));
    } finally {
      first.kill('SIGKILL');
      await exited;
    }
  }, 60_000);
});
