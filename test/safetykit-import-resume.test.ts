/**
 * A killed and re-run `import` sends every object exactly once: the built CLI (dist/cli/main.js)
 * is SIGKILLed at random moments — after some part uploads, in the middle of one, while polling —
 * and run again each time, against the emulator over loopback. The same for a JSON-array file;
 * two runs at once (the second is refused), and `--in /dev/stdin` (a stream, never resumed).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { tempDir } from './helpers/temp-dir.js';

const KEY = 'sk-test-resume-0123456789';
let emulator: Emulator;
const dir = tempDir('sk-import-resume-');

beforeAll(async () => {
  emulator = await startEmulator({ safetykit: { queuedMs: 20, ingestingMs: 60 } });
});
afterAll(async () => {
  await emulator.close();
});

function writeJsonl(path: string, count: number, prefix: string): void {
  let text = '';
  for (let i = 0; i < count; i++) text += `${JSON.stringify({ id: `${prefix}-${i}`, title: `Listing ${i}`, body: 'lorem ipsum dolor '.repeat(6) })}\n`;
  writeFileSync(path, text);
}

/** Spawn `import` of the built CLI; resolves its exit code/signal and output. */
function spawnImport(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnCli(['import', '--no-progress', ...args], { SAFETYKIT_API_KEY: KEY, SAFETYKIT_BASE_URL: emulator.url, TMPDIR: join(dir(), 'tmp'), ...env });
}

/** Parts of at most `partBytes` bytes of whole lines (how the import splits the file). */
function partCount(file: string, partBytes: number): number {
  let parts = 0;
  let size = 0;
  for (const line of readFileSync(file, 'utf8').split('\n').slice(0, -1)) {
    const bytes = Buffer.byteLength(line) + 1;
    if (parts === 0 || size + bytes > partBytes) {
      parts++;
      size = 0;
    }
    size += bytes;
  }
  return parts;
}

/** Parts the state file records as uploaded (0 while it does not exist, or is being replaced). */
function uploadedParts(file: string): number {
  try {
    return (JSON.parse(readFileSync(`${file}.import-state.json`, 'utf8')) as { parts: Array<{ uploaded: boolean }> }).parts.filter((part) => part.uploaded).length;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const storedUploads = () => emulator.safetykit.uploads().filter((upload) => upload.status === 200).length;

describe('import: killed and run again', () => {
  it('sends every object exactly once after SIGKILLs at random moments (after k uploads, mid-upload, while polling)', async () => {
    mkdirSync(join(dir(), 'tmp'), { recursive: true });
    const file = join(dir(), 'big.jsonl');
    const count = 12_000;
    writeJsonl(file, count, 'kill');
    const parts = partCount(file, 60_000);
    expect(parts).toBeGreaterThan(20);
    const args = ['--namespace', 'resume', '--in', file, '--part-bytes', '60000', '--wait', '--poll-interval-ms', '5', '--json'];
    // Deterministic variety from a seed, so a failure can be replayed.
    let seed = 20_261_124;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);

    const kills: string[] = [];
    for (const moment of ['after-uploads', 'timer', 'after-uploads', 'polling', 'timer'] as const) {
      const before = storedUploads();
      const run = spawnImport(args);
      let exited = false;
      void run.exited.then(() => (exited = true));
      if (moment === 'after-uploads') {
        const k = 1 + Math.floor(random() * 4);
        while (!exited && storedUploads() < before + k) await sleep(1);
      } else if (moment === 'timer') {
        await sleep(150 + random() * 500);
      } else {
        // Every part has arrived: the CLI is only polling (the service takes its time now).
        emulator.safetykit.setDelays({ queuedMs: 400 });
        while (!exited && uploadedParts(file) < parts) await sleep(2);
        await sleep(random() * 100);
      }
      if (exited) break;
      run.child.kill('SIGKILL');
      const [, signal] = await run.exited;
      expect(signal).toBe('SIGKILL');
      emulator.safetykit.setDelays({ queuedMs: 20 });
      kills.push(moment);
    }
    expect(kills.length).toBeGreaterThanOrEqual(3);

    const last = spawnImport(args);
    const [code] = await last.exited;
    expect(code, last.err()).toBe(0);
    const summary = JSON.parse(last.out());
    expect(summary).toMatchObject({ command: 'import', objects: count, resumed: true });
    expect(summary.partsSkipped).toBeGreaterThan(0);
    expect(summary.statuses).toEqual({ succeeded: summary.requestIds.length });

    const received = await emulator.safetykit.importedIds('resume');
    expect(received.size).toBe(count);
    const twice = [...received].filter(([, times]) => times !== 1);
    expect(twice).toEqual([]);
    for (const requestId of summary.requestIds) expect(emulator.safetykit.request(requestId)?.state).toBe('succeeded');

    // Once more, after it finished: nothing is uploaded again, the same requests are reported.
    const uploadsBefore = emulator.safetykit.uploads().length;
    const again = spawnImport(args);
    expect((await again.exited)[0]).toBe(0);
    expect(JSON.parse(again.out())).toMatchObject({ requestIds: summary.requestIds, objects: count, bytes: 0, partsSkipped: summary.requestIds.length });
    expect(emulator.safetykit.uploads().length).toBe(uploadsBefore);
  }, 120_000);

  it('refuses a re-run on a changed file, naming the state file and how to start over', async () => {
    const file = join(dir(), 'changed.jsonl');
    writeJsonl(file, 3000, 'changed');
    const args = ['--namespace', 'changed', '--in', file, '--part-bytes', '50000'];
    const run = spawnImport(args);
    while (storedUploads() === 0 || !existsSync(`${file}.import-state.json`)) await sleep(1);
    run.child.kill('SIGKILL');
    await run.exited;

    writeJsonl(file, 3001, 'changed');
    const uploadsBefore = emulator.safetykit.uploads().length;
    const refused = spawnImport(args);
    const [code] = await refused.exited;
    expect(code).toBe(1);
    expect(refused.err()).toContain(`${file} changed since the import recorded in ${file}.import-state.json`);
    expect(refused.err()).toContain(`delete ${file}.import-state.json`);
    expect(emulator.safetykit.uploads().length).toBe(uploadsBefore);

    // Same size, other modification time: refused too.
    writeJsonl(file, 3000, 'changed');
    utimesSync(file, new Date(), new Date(Date.now() - 3600_000));
    const [touched] = await spawnImport(args).exited;
    expect(touched).toBe(1);
  }, 60_000);

  it('removes the spool directories that killed runs left behind, and leaves a running one alone', async () => {
    const tmp = join(dir(), 'spools');
    mkdirSync(tmp, { recursive: true });
    // A dead process's spool (pid 2^22 + 1 is above Linux's pid_max default), a live one (ours), and a kept one.
    const dead = join(tmp, 'inference-streams-import-4194305-abc123');
    const alive = join(tmp, `inference-streams-import-${process.pid}-def456`);
    const kept = join(tmp, 'inference-streams-import-kept-4194305-ghi789');
    for (const path of [dead, alive, kept]) {
      mkdirSync(path);
      writeFileSync(join(path, 'part-0001.jsonl'), '{"id":"x"}\n');
    }
    const stdinRun = spawnCli(['import', '--no-progress', '--namespace', 'spools', '--in', '-', '--spool-dir', tmp], { SAFETYKIT_API_KEY: KEY, SAFETYKIT_BASE_URL: emulator.url }, '{"id":"s1"}\n{"id":"s2"}\n');
    const [code] = await stdinRun.exited;
    expect(code).toBe(0);
    expect(readdirSync(tmp).sort()).toEqual([alive, kept].map((path) => path.slice(tmp.length + 1)).sort());
  }, 30_000);
});

describe('import of a JSON-array file: killed and run again', () => {
  it('sends every element exactly once, each as it was written, and nothing when run again after it finished', async () => {
    mkdirSync(join(dir(), 'tmp'), { recursive: true });
    const file = join(dir(), 'big.json');
    const count = 8000;
    const fragile = ['{"id": "arr-f1", "n": 12345678901234567890}', '{"id": "arr-f2", "n": 1e400, "m": -0, "f": 1.0}', '{"id": "arr-f3", "k": 1, "k": 2}'];
    const elements = [...fragile];
    for (let i = fragile.length; i < count; i++) elements.push(`{\n    "id": "arr-${i}",\n    "title": "Listing ${i}, [with] {brackets}",\n    "price": ${i}.10\n  }`);
    writeFileSync(file, `[\n  ${elements.join(',\n  ')}\n]\n`);
    const args = ['--namespace', 'resume-array', '--in', file, '--part-bytes', '30000', '--wait', '--poll-interval-ms', '5', '--json'];

    let kills = 0;
    for (const uploadsWanted of [2, 3]) {
      const before = storedUploads();
      const run = spawnImport(args);
      let exited = false;
      void run.exited.then(() => (exited = true));
      while (!exited && storedUploads() < before + uploadsWanted) await sleep(1);
      // Mid-upload: the next part's PUT is under way (or about to be).
      await sleep(5);
      if (exited) break;
      run.child.kill('SIGKILL');
      expect((await run.exited)[1]).toBe('SIGKILL');
      kills++;
    }
    expect(kills).toBe(2);

    const last = spawnImport(args);
    const [code] = await last.exited;
    expect(code, last.err()).toBe(0);
    const summary = JSON.parse(last.out());
    expect(summary).toMatchObject({ command: 'import', objects: count, resumed: true });
    expect(summary.partsSkipped).toBeGreaterThan(0);
    const received = await emulator.safetykit.importedIds('resume-array');
    expect(received.size).toBe(count);
    expect([...received].filter(([, times]) => times !== 1)).toEqual([]);
    const lines = (await emulator.safetykit.importedLines('resume-array')).map((line) => line.trim());
    for (const text of fragile) expect(lines).toContain(text);

    const uploadsBefore = emulator.safetykit.uploads().length;
    const again = spawnImport(args);
    expect((await again.exited)[0], again.err()).toBe(0);
    expect(JSON.parse(again.out())).toMatchObject({ requestIds: summary.requestIds, objects: count, bytes: 0, partsSkipped: summary.requestIds.length });
    expect(emulator.safetykit.uploads().length).toBe(uploadsBefore);
  }, 120_000);
});

describe('two runs of the same import at once', () => {
  it('the second is refused, naming the pid of the first; every object is imported once', async () => {
    mkdirSync(join(dir(), 'tmp'), { recursive: true });
    const file = join(dir(), 'twice-at-once.jsonl');
    writeJsonl(file, 4000, 'once');
    const args = ['--namespace', 'at-once', '--in', file, '--part-bytes', '60000', '--wait', '--poll-interval-ms', '5'];
    // Slow imports: the first run is still polling when the second one starts.
    emulator.safetykit.setDelays({ queuedMs: 5000 });
    try {
      const first = spawnImport(args);
      while (!existsSync(`${file}.import-state.json`) && first.child.exitCode === null) await sleep(5);
      const second = spawnImport(args);
      const [secondCode] = await second.exited;
      expect(secondCode, second.err()).toBe(1);
      expect(second.err()).toContain(`is already running (pid ${first.child.pid}`);
      expect(second.err()).toContain(`${file}.import-state.json.lock`);
      const [firstCode] = await first.exited;
      expect(firstCode, first.err()).toBe(0);
    } finally {
      emulator.safetykit.setDelays({ queuedMs: 20 });
    }
    const received = await emulator.safetykit.importedIds('at-once');
    expect(received.size).toBe(4000);
    expect([...received].filter(([, times]) => times !== 1)).toEqual([]);
    // The lock went with the run that held it.
    expect(existsSync(`${file}.import-state.json.lock`)).toBe(false);
  }, 60_000);
});

describe('import --in /dev/stdin', () => {
  /** The CLI with `file` as its stdin (a regular file behind /dev/stdin, as `< file` gives). */
  async function importStdinFile(file: string, namespace: string, inPath = '/dev/stdin'): Promise<[number | null, string]> {
    const fd = openSync(file, 'r');
    try {
      const child = spawn(process.execPath, ['dist/cli/main.js', 'import', '--no-progress', '--namespace', namespace, '--in', inPath], {
        stdio: [fd, 'pipe', 'pipe'],
        env: { ...process.env, SAFETYKIT_API_KEY: KEY, SAFETYKIT_BASE_URL: emulator.url, TMPDIR: join(dir(), 'tmp') },
      });
      let err = '';
      child.stderr!.on('data', (chunk) => (err += chunk));
      child.stdout!.resume();
      const [code] = (await once(child, 'exit')) as [number | null];
      return [code, err];
    } finally {
      closeSync(fd);
    }
  }

  it('is read as a stream, never resumed: two inputs of the same size and mtime are both imported, no state is written in /dev', async () => {
    mkdirSync(join(dir(), 'tmp'), { recursive: true });
    const first = join(dir(), 'stdin-a.jsonl');
    const second = join(dir(), 'stdin-b.jsonl');
    writeJsonl(first, 500, 'sa');
    writeJsonl(second, 500, 'sb');
    const mtime = new Date('2026-01-01T00:00:00Z');
    for (const file of [first, second]) utimesSync(file, mtime, mtime);
    try {
      for (const file of [first, second]) {
        const [code, err] = await importStdinFile(file, 'devstdin');
        expect(code, err).toBe(0);
      }
      expect(existsSync('/dev/stdin.import-state.json')).toBe(false);
      const received = await emulator.safetykit.importedIds('devstdin');
      expect(received.size).toBe(1000);
      expect([...received.values()].every((times) => times === 1)).toBe(true);
    } finally {
      // Left there by a version that took /dev/stdin for a file.
      for (const leftover of ['/dev/stdin.import-state.json', '/dev/stdin.import-state.json.lock']) rmSync(leftover, { force: true });
    }
  }, 60_000);

  it('a symbolic link to /dev/stdin is read as a stream too: no state beside the link, every object of both inputs imported', async () => {
    mkdirSync(join(dir(), 'tmp'), { recursive: true });
    const link = join(dir(), 'stdin-link.jsonl');
    symlinkSync('/dev/stdin', link);
    const mtime = new Date('2026-01-01T00:00:00Z');
    const inputs = ['link-a', 'link-b'].map((prefix) => {
      const file = join(dir(), `${prefix}.jsonl`);
      writeJsonl(file, 300, prefix);
      utimesSync(file, mtime, mtime);
      return file;
    });
    for (const file of inputs) {
      const [code, err] = await importStdinFile(file, 'stdinlink', link);
      expect(code, err).toBe(0);
    }
    expect(existsSync(`${link}.import-state.json`)).toBe(false);
    const received = await emulator.safetykit.importedIds('stdinlink');
    expect(received.size).toBe(600);
    expect([...received.values()].every((times) => times === 1)).toBe(true);
  }, 60_000);
});

describe('a re-run with settings other than the recorded import\'s', () => {
  it('another --namespace, --input-format or a --state of something else: a ConfigError naming the flag, exit 2, nothing sent', async () => {
    const file = join(dir(), 'settings.jsonl');
    writeJsonl(file, 50, 'settings');
    expect((await spawnImport(['--namespace', 'settings-a', '--in', file]).exited)[0]).toBe(0);
    const uploadsBefore = emulator.safetykit.uploads().length;
    const other = join(dir(), 'other-state.json');
    writeFileSync(other, JSON.stringify({ kind: 'innerworks-export', version: 1 }));
    for (const [args, flag, option, text] of [
      [['--namespace', 'settings-b', '--in', file], '--namespace', 'namespace', 'into namespace "settings-a": pass that namespace to resume it'],
      [['--namespace', 'settings-a', '--in', file, '--input-format', 'json'], '--input-format', 'format', 'read as JSONL, not as a JSON array: pass the same format as then ("jsonl")'],
      [['--namespace', 'settings-a', '--in', file, '--state', other], '--state', 'stateFile', 'is not the state of a SafetyKit import'],
    ] as const) {
      const run = spawnImport([...args, '--json']);
      const [code] = await run.exited;
      expect(code, run.err()).toBe(2);
      const failure = JSON.parse(run.out().trim().split('\n').at(-1)!);
      expect(failure.error).toMatchObject({ name: 'ConfigError', option, exitCode: 2 });
      expect(failure.error.message).toContain(`Invalid ${flag}: `);
      expect(failure.error.message).toContain(text);
    }
    expect(emulator.safetykit.uploads().length).toBe(uploadsBefore);
  }, 60_000);
});
