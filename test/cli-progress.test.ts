// Progress outside a terminal (--progress plain|json|none), resumed totals, "Resuming from" for a
// database, what Ctrl-C of a file export says, copyable queue hints and the one line about a
// refused connection: the built CLI spawned with stderr a pipe (not a TTY), against the emulator.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { copyableCommand, urlWithoutPassword } from '../src/cli/command-line.js';
import { EXIT } from '../src/cli/command.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { captureCli } from './helpers/cli.js';
import { freePort } from './helpers/free-port.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { docs } from './reinfer-helpers.js';

const dir = tempDir('cli-progress-');
let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

/** The emulator's env plus a short progress interval (the 10 s default, shortened for tests). */
function env(intervalMs = 50): NodeJS.ProcessEnv {
  return { ...emulator!.env, INFERENCE_STREAMS_PROGRESS_INTERVAL_MS: String(intervalMs) };
}

async function finished(child: ReturnType<typeof spawnCli>): Promise<number | null> {
  const [code] = await child.exited;
  return code;
}

describe('--progress outside a terminal', () => {
  it('auto (stderr a pipe) prints a plain line with records, rate and position every interval', async () => {
    // 30 pages of 40 ms each: longer than a few 50 ms intervals.
    emulator = await startEmulator({ records: 600, latencyMs: 40 });
    const file = join(dir(), 'plain.jsonl');
    const child = spawnCli(['export', '--out', file, '--batch-size', '20'], env());
    expect(await finished(child)).toBe(EXIT.ok);
    const lines = child.err().split('\n').filter((line) => line.startsWith('export: '));
    const counted = lines.filter((line) => /^export: [\d,]+ records, [\d,]+\/s, at \d{4}-\d\d-\d\dT[\d:.]+Z, [\d,]+ pages, \d+ retries$/.test(line));
    expect(counted.length).toBeGreaterThanOrEqual(1);
    // No bar redraws in a log: no carriage returns or escape sequences.
    expect(child.err()).not.toMatch(/[\r\x1b]/);
    expect(child.err()).toMatch(/Exported 600 records/);
  });

  it('json prints one JSON object a line with the documented keys, the last one final', async () => {
    emulator = await startEmulator({ records: 400, latencyMs: 40 });
    const file = join(dir(), 'json.jsonl');
    const child = spawnCli(['export', '--out', file, '--batch-size', '20', '--progress', 'json'], env());
    expect(await finished(child)).toBe(EXIT.ok);
    const objects = child
      .err()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(objects.length).toBeGreaterThanOrEqual(2);
    for (const object of objects) {
      expect(Object.keys(object).sort()).toEqual(['command', 'elapsedMs', 'final', 'message', 'position', 'ratePerSecond', 'records', 'recordsThisRun', 'retries', 'time', 'type']);
      expect(object).toMatchObject({ type: 'progress', command: 'export' });
      expect(Number.isNaN(Date.parse(object.time as string))).toBe(false);
    }
    const last = objects.at(-1)!;
    expect(last).toMatchObject({ final: true, records: 400, recordsThisRun: 400, retries: 0 });
    expect(typeof last.ratePerSecond).toBe('number');
    expect(last.position).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(objects.slice(0, -1).every((object) => object.final === false)).toBe(true);
  });

  it('none prints no progress at all, only the summary', async () => {
    emulator = await startEmulator({ records: 300, latencyMs: 40 });
    const file = join(dir(), 'none.jsonl');
    const child = spawnCli(['export', '--out', file, '--batch-size', '20', '--progress', 'none'], env());
    expect(await finished(child)).toBe(EXIT.ok);
    expect(child.err()).toMatch(/^Exported 300 records \(15 pages, [^)]*\) to .* in [\d.]+ s\n$/);
  });

  it('refuses a bad --progress value, naming the allowed ones, before any request', async () => {
    emulator = await startEmulator({ records: 10 });
    const cli = captureCli({ env: { ...emulator.env } });
    expect(await cli.run('export', '--out', join(dir(), 'bad.jsonl'), '--progress', 'fancy')).toBe(EXIT.usage);
    expect(cli.err()).toContain('--progress must be one of auto, bar, plain, json, none (got "fancy")');
    expect(emulator.stats()['innerworks.batch']?.requests ?? 0).toBe(0);
  });
});

describe('resumed exports', () => {
  it('show the total and this run’s share in the progress and the summary', async () => {
    emulator = await startEmulator({ records: 300, latencyMs: 40 });
    const file = join(dir(), 'resumed.jsonl');
    const first = spawnCli(['export', '--out', file, '--batch-size', '100', '--progress', 'none'], env());
    expect(await finished(first)).toBe(EXIT.ok);
    emulator.innerworks.append(400);
    const second = spawnCli(['export', '--out', file, '--batch-size', '20', '--json', '--progress', 'plain'], env());
    expect(await finished(second)).toBe(EXIT.ok);
    expect(second.err()).toContain(`Resuming from ${file}.state.json: 300 records saved by earlier runs (delete it to start over)`);
    const shares = [...second.err().matchAll(/^export: ([\d,]+) records \(([\d,]+) new\)/gm)].map((match) => [Number(match[1].replace(/,/g, '')), Number(match[2].replace(/,/g, ''))]);
    expect(shares.length).toBeGreaterThanOrEqual(1);
    for (const [total, fresh] of shares) expect(total - fresh).toBe(300);
    expect(JSON.parse(second.out())).toMatchObject({ records: 700, recordsThisRun: 400, resumed: true });
    const third = spawnCli(['export', '--out', file, '--batch-size', '100', '--progress', 'none'], env());
    expect(await finished(third)).toBe(EXIT.ok);
    expect(third.err()).toMatch(/Exported 700 records \(0 new; /);
  });

  it('a database export says where it resumes from, with the records saved', async () => {
    emulator = await startEmulator({ records: 120 });
    const database = join(dir(), 'resume.duckdb');
    const first = captureCli({ env: { ...emulator.env } });
    expect(await first.run('export', '--to', `duckdb:${database}`, '--table', 'results', '--batch-size', '50')).toBe(EXIT.ok);
    expect(first.err()).not.toContain('Resuming from');
    emulator.innerworks.append(30);
    const second = captureCli({ env: { ...emulator.env } });
    expect(await second.run('export', '--to', `duckdb:${database}`, '--table', 'results', '--batch-size', '50')).toBe(EXIT.ok);
    expect(second.err()).toContain(`Resuming from table results of duckdb:${database}: 120 records saved by earlier runs`);
    expect(second.err()).toMatch(/Exported 150 records \(30 new; /);
  });
});

describe('Ctrl-C of a file export', () => {
  it('prints the records saved and the command that resumes', async () => {
    emulator = await startEmulator({ records: 5000, latencyMs: 20 });
    const file = join(dir(), 'sigint file.jsonl');
    const child = spawnCli(['export', '--out', file, '--batch-size', '20', '--progress', 'none'], env());
    // Wait until a page is saved, then interrupt.
    const savedRecords = () => readFile(`${file}.state.json`, 'utf8').then((text) => (JSON.parse(text) as { records: number }).records, () => 0);
    for (let i = 0; i < 500 && (await savedRecords()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await child.kill('SIGINT');
    expect(child.child.exitCode).toBe(EXIT.interrupted);
    const state = JSON.parse(await readFile(`${file}.state.json`, 'utf8')) as { records: number };
    expect(state.records).toBeGreaterThan(0);
    expect(state.records).toBeLessThan(5000);
    const saved = state.records.toLocaleString('en-US');
    expect(child.err()).toContain(`inference-streams export: interrupted with ${saved} records saved; progress is saved in ${file}.state.json.`);
    // The command as it can be pasted: the path with a space is quoted.
    expect(child.err()).toContain(`Run the same command again to resume: inference-streams export --out '${file}' --batch-size 20 --progress none\n`);
  });
});

describe('Ctrl-C of a resumable predict', () => {
  it('prints the command that continues it', async () => {
    emulator = await startEmulator({ latencyMs: 40 });
    const input = join(dir(), 'docs.jsonl');
    await writeFile(input, docs(2000).map((doc) => JSON.stringify(doc)).join('\n') + '\n');
    const out = join(dir(), 'predictions.jsonl');
    const args = ['predict', '--project', 'acme', '--dataset', 'emails', '--in', input, '--out', out, '--batch-size', '10', '--concurrency', '1', '--progress', 'none'];
    const child = spawnCli(args, env());
    for (let i = 0; i < 500 && emulator.reinfer.documentsReceived() < 20; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await child.kill('SIGINT');
    expect(child.child.exitCode).toBe(EXIT.interrupted);
    expect(child.err()).toMatch(/interrupted after [\d,]+ predictions written; run the same command to continue: /);
    expect(child.err()).toContain(`run the same command to continue: inference-streams ${args.join(' ')}\n`);
  });
});

describe('export --queue hints', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis({ password: 'hint-secret-pw' });
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('print the real Redis URL, without its password, in copyable commands', async () => {
    const to = 'postgres://me:db-secret-pw@127.0.0.1:5432/warehouse';
    const child = spawnCli(['export', '--queue', redis.url, '--since', '1704067200000', '--until', '1704070800000', '--partitions', '2', '--to', to, '--table', 'hinted'], { INNERWORKS_API_KEY: 'k' });
    expect(await finished(child)).toBe(EXIT.ok);
    const id = child.out().trim();
    const err = child.err();
    expect(err).toContain(`with: inference-streams worker --queue redis://127.0.0.1:${redis.port} (add the password, left out here, back to its URL)`);
    expect(err).toContain(`with: inference-streams status --queue redis://127.0.0.1:${redis.port} --id ${id} (add the password, left out here, back to its URL)`);
    expect(err).not.toContain('…');
    expect(err).not.toContain('hint-secret-pw');
    expect(err).not.toContain('db-secret-pw');
  });
});

describe('a refused connection', () => {
  it('prints one line at the first retry, naming the API, then the final error', async () => {
    const port = await freePort();
    const file = join(dir(), 'refused.jsonl');
    const child = spawnCli(['export', '--out', file, '--progress', 'none'], { INNERWORKS_BASE_URL: `http://127.0.0.1:${port}`, INNERWORKS_API_KEY: 'refused-secret-key' });
    expect(await finished(child)).toBe(EXIT.failure);
    const err = child.err();
    const notices = err.split('\n').filter((line) => line.includes('refused the connection; retrying'));
    expect(notices).toEqual([`API at http://127.0.0.1:${port} refused the connection; retrying, attempt 2 of 6`]);
    // Then the error, after every retry.
    expect(err.indexOf(notices[0])).toBeLessThan(err.indexOf('inference-streams export:'));
    expect(err).toMatch(/ECONNREFUSED/);
    expect(err).toMatch(/after 5 retries/);
    expect(err).not.toContain('refused-secret-key');
  }, 60_000);
});

describe('copyable commands', () => {
  it('leave URL passwords out (not masked), keep user names, and quote for the shell', () => {
    expect(urlWithoutPassword('redis://:s3cret@queue.internal:6379/2')).toEqual({ url: 'redis://queue.internal:6379/2', removed: true });
    expect(urlWithoutPassword('postgres://me:p@ss/w#rd@db.internal:5432/warehouse')).toEqual({ url: 'postgres://me@db.internal:5432/warehouse', removed: true });
    expect(urlWithoutPassword('redis://queue.internal:6379?password=s3cret')).toEqual({ url: 'redis://queue.internal:6379', removed: true });
    expect(urlWithoutPassword('postgres://me@db.internal/warehouse')).toEqual({ url: 'postgres://me@db.internal/warehouse', removed: false });
    const command = copyableCommand(['export'], { out: "it's here.jsonl", to: 'postgres://me:pw@db/x', split: true, follow: false, label: ['A > B', 'C'], help: true });
    expect(command).toEqual({ text: "inference-streams export --out 'it'\\''s here.jsonl' --to postgres://me@db/x --split --label 'A > B' --label C", passwordLeftOut: true });
  });
});
