// Shared helpers for benchmarks: run a case in its own process (so peak RSS is its own),
// start the emulator in a separate process (so it never competes with the client's heap),
// medians, and the result format that run.mjs turns into RESULTS.md.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

/** Median of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Peak RSS of this process so far, in MB. */
export function peakRssMb() {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Start `inference-streams emulator --port 0 --json ...args` in a child process.
 * Returns {url, env, close()}.
 */
export function startEmulatorProcess(args = []) {
  return startServerProcess([CLI, 'emulator', '--port', '0', '--json', '--no-progress', ...args]);
}

/**
 * Start `node ...argv`, a server that prints `{"url", "env"}` as its first stdout line.
 * Returns {url, env, close()}.
 */
export async function startServerProcess(argv) {
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let buffered = '';
  for await (const chunk of child.stdout) {
    buffered += chunk;
    if (buffered.includes('\n')) break;
  }
  const { url, env } = JSON.parse(buffered.split('\n')[0]);
  return {
    url,
    env,
    async close() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/**
 * Run `script` (a .mjs file) with `args` in a fresh Node process; it must print one JSON object
 * as its last stdout line (use `report()`). Returns that object.
 */
export async function runCase(script, args = [], env = {}) {
  const child = spawn(process.execPath, ['--expose-gc', script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`${script} ${args.join(' ')} exited with ${code}`);
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** In a case script: print the result (adds peak RSS) as the last stdout line. */
export function report(result) {
  process.stdout.write(`${JSON.stringify({ ...result, peakRssMb: Number(peakRssMb().toFixed(1)) })}\n`);
}

/** Run `fn` `times` times and return the run with the median of `key`. */
export async function medianRun(times, fn, key) {
  const runs = [];
  for (let i = 0; i < times; i++) runs.push(await fn(i));
  const m = median(runs.map((r) => r[key]));
  return { ...runs.find((r) => r[key] === m) ?? runs[0], runs: runs.map((r) => r[key]), [key]: m };
}

/**
 * What each benchmark's index.mjs prints as its last stdout line (run.mjs collects them):
 * {
 *   benchmark: 'innerworks-export',
 *   title: 'Innerworks export, 1 000 000 records',
 *   command: 'npm run bench -- innerworks-export',
 *   tables: [{ title, columns: ['case', 'records/s', ...], rows: [[...], ...] }],
 *   checks: [{ claim: '(a) >= 0.85 x (c)', value: 0.91, target: 0.85, pass: true }],
 *   notes: ['...'],
 * }
 */
export function printBenchmark(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * Run each case `runs` times against one emulator process (`--records N ...emulatorArgs`),
 * interleaved round by round so that load from elsewhere falls on every case alike. `cases` maps
 * a name to `(emulatorUrl) => [script, args]`; every case gets INNERWORKS_API_KEY. Returns
 * {name: {records, recordsPerSec, mbPerSec, peakRssMb (medians), runs (records/s of each)}},
 * plus cpuMs (median) and cpuRuns when the cases report their CPU time.
 */
export async function interleavedRounds({ records, emulatorArgs = [], runs, cases, label = (name) => name }) {
  const emulator = await startEmulatorProcess(['--records', String(records), ...emulatorArgs]);
  const results = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  try {
    for (let run = 0; run < runs; run++) {
      for (const [name, caseOf] of Object.entries(cases)) {
        const [script, args] = caseOf(emulator.url);
        const result = await runCase(script, args, { INNERWORKS_API_KEY: emulator.env.INNERWORKS_API_KEY });
        results[name].push(result);
        process.stderr.write(`  ${label(name)} ${records}: ${Math.round(result.recordsPerSec)} records/s, ${result.peakRssMb} MB\n`);
      }
    }
  } finally {
    await emulator.close();
  }
  return Object.fromEntries(
    Object.entries(results).map(([name, all]) => [
      name,
      {
        records,
        recordsPerSec: median(all.map((r) => r.recordsPerSec)),
        mbPerSec: median(all.map((r) => r.mbPerSec)),
        peakRssMb: median(all.map((r) => r.peakRssMb)),
        runs: all.map((r) => Math.round(r.recordsPerSec)),
        // CPU time (user + sys) of the case's process, when the case reports it (cpuMs).
        ...(all.every((r) => typeof r.cpuMs === 'number') ? { cpuMs: median(all.map((r) => r.cpuMs)), cpuRuns: all.map((r) => Math.round(r.cpuMs)) } : {}),
        // Peak RSS and CPU of a helper process the case ran (the DuckDB host), when it reports them.
        ...(all.every((r) => r.hostPeakRssMb > 0) ? { hostPeakRssMb: median(all.map((r) => r.hostPeakRssMb)), hostCpuMs: median(all.map((r) => r.hostCpuMs)) } : {}),
      },
    ]),
  );
}

/**
 * The dist directory of a build of git `ref` (to compare an earlier build with this tree's in one
 * run), built on first use: `git archive` of src and the build files into benchmarks/tmp/ (ignored
 * by git), compiled with this tree's tsc; its imports resolve to this tree's node_modules.
 * Returns {sha, dist}. `benchmark` names the caller in the error of a checkout without `ref`.
 */
export function baselineDist(ref, benchmark) {
  let sha;
  try {
    sha = execFileSync('git', ['rev-parse', '--short', `${ref}^{commit}`], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new Error(`${benchmark} compares against a build of ${ref}, which this checkout does not have (a shallow clone?): fetch it, or pass --baseline REF`);
  }
  const dir = join(ROOT, 'benchmarks', 'tmp', `baseline-${sha}`);
  if (!existsSync(join(dir, 'dist', 'index.js'))) {
    process.stderr.write(`  building the baseline ${sha} in ${dir}\n`);
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git archive ${sha} src package.json tsconfig.json tsconfig.build.json | tar -x -C "${dir}"`], { cwd: ROOT, stdio: 'inherit' });
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.build.json')], { stdio: 'inherit' });
  }
  return { sha, dist: join(dir, 'dist') };
}
