/**
 * One consistent CLI, as a new user walks it (issue 17, item 5), through the built CLI as a shell
 * runs it: --emulator only where it applies (refused elsewhere) with --emulator-records, the same
 * defaults (or the help says why not), "did you mean --out" for --output, counts with the right
 * noun, help texts that list every format and each option once, the emulator's startup lines with
 * its data's time range, and what --until left out said in the summary (direct and queued).
 */
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, type CliCommand } from '../src/cli/command.js';
import { commandHelp } from '../src/cli/main.js';
import { counted } from '../src/core/plural.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { tempDir } from './helpers/temp-dir.js';

const COMMANDS: Record<string, () => Promise<{ command: CliCommand }>> = {
  export: () => import('../src/cli/commands/export.js'),
  ingest: () => import('../src/cli/commands/ingest.js'),
  import: () => import('../src/cli/commands/import.js'),
  predict: () => import('../src/cli/commands/predict.js'),
  validation: () => import('../src/cli/commands/validation.js'),
  emulator: () => import('../src/cli/commands/emulator.js'),
  worker: () => import('../src/cli/commands/worker.js'),
  status: () => import('../src/cli/commands/status.js'),
  demo: () => import('../src/cli/commands/demo.js'),
};

const dir = tempDir('cli-consistency-');

/** Run the built CLI to its end: exit code, stdout, stderr. */
async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  const run = spawnCli(args, env);
  const [code] = await run.exited;
  return { code, out: run.out(), err: run.err() };
}

/** The flag each option entry of a help text starts with (`  --out FILE`, `  -o, --out FILE`, `  --a N, --b T`). */
function optionEntries(help: string): string[] {
  const flags: string[] = [];
  for (const line of help.split('\n')) {
    const entry = /^ {2}(?:-[a-zA-Z], )?(--[a-z][a-z-]*)(.*)$/.exec(line);
    if (!entry) continue;
    flags.push(entry[1]);
    // A second flag on the same entry line: "--records-per-partition N, --total-records T".
    for (const more of entry[2].matchAll(/, (--[a-z][a-z-]*)/g)) flags.push(more[1]);
  }
  return flags;
}

describe('--emulator only where it applies', () => {
  it('is refused with a usage error (exit 2) by status, worker and emulator, and with --queue, naming why', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['status', '--emulator', '--queue', 'redis://127.0.0.1:1', '--id', 'x'], /--emulator does not apply to status: it reads the queue in Redis and calls no API/],
      [['worker', '--emulator', '--queue', 'redis://127.0.0.1:1'], /--emulator does not apply to worker: .*run 'inference-streams emulator'/],
      [['emulator', '--emulator', '--port', '0'], /--emulator does not apply to emulator: it is the emulator/],
      [['export', '--emulator', '--queue', 'redis://127.0.0.1:1', '--since', '2024-01-01', '--until', '2024-01-02', '--to', 'postgres://u@127.0.0.1:1/d', '--table', 't'], /--emulator cannot be used with --queue: .*--base-url URL/],
      [['predict', '--emulator', '--queue', 'redis://127.0.0.1:1', '--project', 'p', '--dataset', 'd', '--in', 'x.jsonl', '--to', 'postgres://u@127.0.0.1:1/d', '--table', 't'], /--emulator cannot be used with --queue: .*--endpoint URL/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli(args)));
    for (const [i, [args, message]] of cases.entries()) {
      expect(runs[i].code, args.join(' ')).toBe(EXIT.usage);
      expect(runs[i].err, args.join(' ')).toMatch(message);
      // Refused before anything started: no emulator was announced.
      expect(runs[i].err + runs[i].out).not.toMatch(/using a local emulator|Emulator listening/);
    }
  });

  it('is left out of the help of the commands that refuse it, and kept where it applies', async () => {
    for (const [name, load] of Object.entries(COMMANDS)) {
      const { command } = await load();
      const help = commandHelp(command);
      if (['status', 'worker', 'emulator'].includes(name)) expect(help, name).not.toMatch(/^ {2}--emulator /m);
      else expect(help, name).toMatch(/^ {2}--emulator /m);
    }
    const main = await cli(['--help']);
    expect(main.out).not.toContain('Add --emulator to any command');
    expect(main.out).toContain('Add --emulator to export, ingest, import, predict or validation');
  });

  it('--emulator-records N sets the records the emulator serves (default 10000); validated; needs --emulator', async () => {
    const out = join(dir(), 'few.jsonl');
    const [few, byDefault, bad, negative, alone] = await Promise.all([
      cli(['export', '--emulator', '--emulator-records', '30', '--out', out, '--json']),
      cli(['export', '--emulator', '--out', '-', '--batch-size', '5000']),
      cli(['export', '--emulator', '--emulator-records', 'many', '--out', join(dir(), 'bad.jsonl')]),
      cli(['export', '--emulator', '--emulator-records=-1', '--out', join(dir(), 'neg.jsonl')]),
      cli(['export', '--emulator-records', '30', '--out', join(dir(), 'alone.jsonl')], { INNERWORKS_API_KEY: 'k' }),
    ]);
    expect(few.code, few.err).toBe(EXIT.ok);
    expect(JSON.parse(few.out)).toMatchObject({ command: 'export', records: 30 });
    expect(few.err).toContain('Innerworks data: 30 results from 2024-01-01T00:00:00Z to 2024-01-01T00:00:09Z, 3 results a second');
    expect(byDefault.code, byDefault.err).toBe(EXIT.ok);
    expect(byDefault.out.trim().split('\n')).toHaveLength(10_000);
    for (const run of [bad, negative]) {
      expect(run.code).toBe(EXIT.usage);
      expect(run.err).toContain('--emulator-records must be an integer from 0 to 1000000000000');
    }
    expect(alone.code).toBe(EXIT.usage);
    expect(alone.err).toContain('--emulator-records goes with --emulator');
  });
});

describe('did you mean', () => {
  it('--output and --ouput mean --out; --input means --in, where those exist', async () => {
    const runs = await Promise.all([
      cli(['export', '--output', 'x.jsonl']),
      cli(['export', '--ouput', 'x.jsonl']),
      cli(['predict', '--output=x.jsonl']),
      cli(['ingest', '--input', 'x.jsonl']),
      cli(['validation', '--output', 'x']),
    ]);
    expect(runs.map((run) => run.code)).toEqual([EXIT.usage, EXIT.usage, EXIT.usage, EXIT.usage, EXIT.usage]);
    expect(runs[0].err).toContain('unknown option --output; did you mean --out?');
    expect(runs[1].err).toContain('unknown option --ouput; did you mean --out?');
    expect(runs[2].err).toContain('unknown option --output; did you mean --out?');
    expect(runs[3].err).toContain('unknown option --input; did you mean --in?');
    // validation has no --out: no suggestion of a flag it does not have.
    expect(runs[4].err).toContain('unknown option --output');
    expect(runs[4].err).not.toContain('--out?');
  });
});

describe('counts with the right noun', () => {
  it('one helper: singular for exactly 1, the plural (given or noun + s) otherwise, thousands grouped', () => {
    expect([counted(1, 'page'), counted(0, 'page'), counted(2, 'page'), counted(1234, 'record'), counted(1, 'retry', 'retries'), counted(3, 'retry', 'retries'), counted(1, 'batch', 'batches')]).toEqual(['1 page', '0 pages', '2 pages', '1,234 records', '1 retry', '3 retries', '1 batch']);
  });

  it('"1 record (1 page" for one result; plural for more', async () => {
    const [one, two] = await Promise.all([
      cli(['export', '--emulator', '--emulator-records', '1', '--out', join(dir(), 'one.jsonl')]),
      cli(['export', '--emulator', '--emulator-records', '6', '--batch-size', '3', '--out', join(dir(), 'two.jsonl')]),
    ]);
    expect(one.code, one.err).toBe(EXIT.ok);
    expect(one.err).toMatch(/Exported 1 record \(1 page, /);
    expect(one.err).toContain('Innerworks data: 1 result from');
    expect(two.code, two.err).toBe(EXIT.ok);
    expect(two.err).toMatch(/Exported 6 records \(2 pages, /);
  });
});

describe('help texts', () => {
  it('export --help describes every format and target, not only JSONL', async () => {
    const { out } = await cli(['export', '--help']);
    for (const words of ['JSONL', 'CSV', 'Parquet', 'PostgreSQL', 'DuckDB', 'stdout', '--queue redis://', '--to postgres://', '--to duckdb:PATH', '--out -']) expect(out, words).toContain(words);
    expect(out).not.toContain('JSONL file to write');
  });

  it('lists each option once per command, with one range for --partitions, and every option it takes', async () => {
    for (const [name, load] of Object.entries(COMMANDS)) {
      const { out } = await cli([name, '--help']);
      const { command } = await load();
      expect(out, name).toBe(commandHelp(command));
      const entries = optionEntries(out);
      const repeated = entries.filter((flag, i) => entries.indexOf(flag) !== i);
      expect(repeated, `${name}: options listed more than once`).toEqual([]);
      for (const flag of Object.keys(command.options)) {
        if (flag === 'base-url' && (name === 'predict' || name === 'validation')) continue; // "--endpoint URL …; --base-url is the same"
        if (flag === 'export' && name === 'status') continue; // "--export ID: the same as --id"
        expect(out, `${name} --${flag}`).toContain(`--${flag}`);
      }
    }
    const { out } = await cli(['export', '--help']);
    const partitions = out.split('\n').filter((line) => /^ {2}--partitions /.test(line));
    expect(partitions).toHaveLength(1);
    expect(out).toMatch(/--partitions K {10}parallel cursors over \[since, until\), 1\.\.64 \(default 1; needs --since\);\n {26}with --queue: partition jobs, 1\.\.4096 \(default 8\)/);
  });
});

describe('the same option has the same default, or the help says why not', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(async () => {
    await emulator.close();
  });

  it('--version: live for predict and validation, in the help and in what they ask for', async () => {
    const docs = join(dir(), 'docs.jsonl');
    await writeFile(docs, '{"messages": [{"body": {"text": "where is my order"}}]}\n');
    const [predictHelp, validationHelp, predicted, validation] = await Promise.all([
      cli(['predict', '--help']),
      cli(['validation', '--help']),
      cli(['predict', '--project', 'acme', '--dataset', 'emails', '--in', docs], emulator.env),
      cli(['validation', '--project', 'acme', '--dataset', 'emails', '--json'], emulator.env),
    ]);
    expect(predictHelp.out).toMatch(/--version V {13}model version: an integer, live or staging \(default live\)/);
    expect(validationHelp.out).toMatch(/--version V {13}an integer, live, staging or latest \(default live, as for predict/);
    expect(predicted.code, predicted.err).toBe(EXIT.ok);
    expect(validation.code, validation.err).toBe(EXIT.ok);
    const live = emulator.reinfer.versions.live;
    expect(live).not.toBe(emulator.reinfer.versions.latest);
    expect(JSON.parse(predicted.out).model.version).toBe(live);
    expect(JSON.parse(validation.out).version).toBe(live);
  });

  it('--poll-interval-ms (export 5000, import 1000) and --in (stdin for ingest and predict, required for import): the help says why', async () => {
    const [exportHelp, importHelp, ingestHelp, importWithoutIn] = await Promise.all([cli(['export', '--help']), cli(['import', '--help']), cli(['ingest', '--help']), cli(['import', '--namespace', 'n'], emulator.env)]);
    expect(exportHelp.out).toMatch(/--poll-interval-ms MS .*\(default 5000: a fixed\n.*wait, where import's --poll-interval-ms is a first wait that grows\)/);
    expect(importHelp.out).toMatch(/--poll-interval-ms MS .*\(default 1000: a\n.*short import is seen done at once; export --follow waits a fixed 5000\)/);
    expect(importHelp.out).toMatch(/--in FILE\|- +input file \(required, where ingest and predict read stdin by default:\n.*spooled whole to a temp file.*\n.*cannot be resumed, so it is asked for by name, --in -/);
    expect(ingestHelp.out).toMatch(/--in FILE\|- +input file \(default -: stdin, as for predict; import needs --in named\)/);
    expect(importWithoutIn.code).toBe(EXIT.usage);
    expect(importWithoutIn.err).toContain('--in FILE is required (--in - reads stdin, spooled to a temp file first and not resumable)');
  });
});

describe('no library function names in CLI output', () => {
  it('the demo names CLI commands', { timeout: 120_000 }, async () => {
    const outDir = join(dir(), 'demo');
    const [help, run] = await Promise.all([cli(['demo', '--help']), cli(['demo', '--records', '300', '--predict', '30', '--faults', 'none', '--out-dir', outDir, '--no-progress'])]);
    expect(run.code, run.err).toBe(EXIT.ok);
    for (const text of [help.out, run.out, run.err]) expect(text).not.toMatch(/exportInferenceResults|predictDocuments|importWriter|importResults/);
    expect(run.out).toContain("'inference-streams export --out FILE' writes the same");
  });
});

describe("the emulator's data", () => {
  it("the emulator's startup lines give its data's time range, three results a second", async () => {
    const run = spawnCli(['emulator', '--port', '0', '--records', '300']);
    try {
      while (!run.out().includes('Press Ctrl-C')) await once(run.child.stdout, 'data');
      expect(run.out()).toContain('Innerworks data: 300 results from 2024-01-01T00:00:00Z to 2024-01-01T00:01:39Z, 3 results a second');
    } finally {
      await run.kill('SIGINT');
    }
  });

  it('emulator --json gives the same range', async () => {
    const run = spawnCli(['emulator', '--port', '0', '--records', '300', '--json']);
    try {
      while (!run.out().includes('\n')) await once(run.child.stdout, 'data');
      expect(JSON.parse(run.out())).toMatchObject({ command: 'emulator', innerworks: { records: 300, from: '2024-01-01T00:00:00Z', to: '2024-01-01T00:01:39Z' } });
    } finally {
      await run.kill('SIGINT');
    }
  });

  it('the README says what the emulator serves: three results a second, not three a millisecond', async () => {
    const readme = await readFile('README.md', 'utf8');
    expect(readme).not.toMatch(/three results share each millisecond/i);
    expect(readme).toMatch(/three results a second/i);
  });
});

describe('what --until left out is said in the summary', () => {
  it('a direct export (file, stdout, --json) says how many results lie after --until; none when it reached the end', async () => {
    const until = '2024-01-01T00:00:30Z'; // 90 of 300 results are before it
    const [file, stdout, json, full, atEnd] = await Promise.all([
      cli(['export', '--emulator', '--emulator-records', '300', '--until', until, '--out', join(dir(), 'until.jsonl')]),
      cli(['export', '--emulator', '--emulator-records', '300', '--until', until, '--out', '-']),
      cli(['export', '--emulator', '--emulator-records', '300', '--until', until, '--out', join(dir(), 'until-json.jsonl'), '--json']),
      cli(['export', '--emulator', '--emulator-records', '5000', '--until', until, '--out', join(dir(), 'until-full.jsonl')]),
      cli(['export', '--emulator', '--emulator-records', '300', '--until', '2024-01-01T00:01:40Z', '--out', join(dir(), 'until-end.jsonl')]),
    ]);
    for (const run of [file, stdout, json, full, atEnd]) expect(run.code, run.err).toBe(EXIT.ok);
    expect(file.err).toContain('Exported 90 records');
    expect(file.err).toContain('Stopped at --until 2024-01-01T00:00:30.000Z; 210 more results lie after it');
    expect(stdout.out.trim().split('\n')).toHaveLength(90);
    expect(stdout.err).toContain('Stopped at --until 2024-01-01T00:00:30.000Z; 210 more results lie after it');
    expect(JSON.parse(json.out)).toMatchObject({ records: 90, afterUntil: { results: 210, more: false } });
    // One page is asked for (1000 results): a full one says "or more".
    expect(full.err).toContain('Stopped at --until 2024-01-01T00:00:30.000Z; 1,000 or more results lie after it');
    expect(atEnd.err).toContain('Exported 300 records');
    expect(atEnd.err).not.toContain('Stopped at --until');
  });

  describe('a queued export', () => {
    let emulator: Emulator;
    let postgres: PostgresCluster;
    let redis: RedisServer;
    beforeAll(async () => {
      [emulator, postgres, redis] = await Promise.all([startEmulator({ records: 3000 }), startPostgres(), startRedis()]);
    }, 120_000);
    afterAll(async () => {
      await Promise.allSettled([emulator?.close(), postgres?.stop(), redis?.stop()]);
    });

    it('status and the worker say how many results lie after --until once it completed', { timeout: 180_000 }, async () => {
      const until = emulator.innerworks.timestampOf(1500); // results 1500..2999 lie at or after it
      const enqueue = await cli(['export', '--queue', redis.url, '--since', '2024-01-01', '--until', String(until), '--partitions', '2', '--to', postgres.url, '--table', 'until_left_out', '--base-url', emulator.url], { INNERWORKS_API_KEY: 'k' });
      expect(enqueue.code, enqueue.err).toBe(EXIT.ok);
      const exportId = enqueue.out.trim();
      const worker = spawnCli(['worker', '--queue', redis.url, '--stalled-interval', '500', '--lock-duration', '1500'], { INNERWORKS_API_KEY: 'k', INNERWORKS_BASE_URL: emulator.url, PGPASSWORD: postgres.password });
      try {
        let status = await cli(['status', '--queue', redis.url, '--id', exportId]);
        const deadline = Date.now() + 120_000;
        while (!/: completed, /.test(status.out) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          status = await cli(['status', '--queue', redis.url, '--id', exportId]);
        }
        expect(status.out, status.err).toMatch(new RegExp(`Export ${exportId}: completed, 1,500 records in 2 pages`));
        expect(status.out).toContain(`Stopped at --until ${new Date(until).toISOString()}; 1,000 or more results lie after it (when the export finished)`);
        const json = await cli(['status', '--queue', redis.url, '--id', exportId, '--json']);
        expect(JSON.parse(json.out)).toMatchObject({ state: 'completed', endTime: until, resultsAfterEnd: { results: 1000, more: true } });
        while (!worker.err().includes('export finished')) await once(worker.child.stderr, 'data');
        expect(worker.err()).toContain(`${exportId}: Stopped at --until ${new Date(until).toISOString()}; 1,000 or more results lie after it`);
      } finally {
        await worker.kill('SIGTERM');
      }
    });
  });
});
