// What the hostile-value rules (issue 15 item 3: the checks of src/destinations/columns.ts, json
// columns as PostgreSQL `json`) cost: the CSV and PostgreSQL exports of this build against the
// same exports of a baseline build from before the checks, side by side in one run, and the
// column mapping alone (record → row → CSV line) of both builds. The baseline is built once from
// `git archive <ref>` into benchmarks/tmp/ (ignored by git); ref: --baseline REF, default 6d84c44
// (the last commit before the checks). Cases are interleaved round by round against one emulator
// process and one throwaway PostgreSQL cluster; each case runs in its own process; medians.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { baselineDist, median, printBenchmark, runCase, startEmulatorProcess, startServerProcess, ROOT } from '../lib.mjs';

const quick = process.argv.includes('--quick');
const baselineArg = process.argv.indexOf('--baseline');
const BASELINE = baselineArg > 0 ? process.argv[baselineArg + 1] : '6d84c44';
const RUNS = quick ? 1 : 3;
const RECORDS = quick ? 50_000 : 300_000;
const MAPPED = quick ? 100_000 : 1_000_000;
const BATCH = 5000;
const CASE = join(ROOT, 'benchmarks', 'hostile-values', 'case.mjs');

const baseline = baselineDist(BASELINE, 'hostile-values');
const builds = { before: baseline.dist, after: join(ROOT, 'dist') };
const postgres = await startServerProcess([join(ROOT, 'benchmarks', 'destinations', 'postgres-server.mjs')]);
const emulator = await startEmulatorProcess(['--records', String(RECORDS)]);
const cases = {};
for (const [build, dist] of Object.entries(builds)) {
  cases[`CSV export, ${build}`] = [dist, 'csv', emulator.url, String(RECORDS), String(BATCH)];
  cases[`PostgreSQL export, ${build}`] = [dist, 'postgres', emulator.url, String(RECORDS), String(BATCH), postgres.url];
  cases[`mapping + CSV line, ${build}`] = [dist, 'mapping', String(MAPPED)];
}
const results = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
const loadBefore = loadavg()[0];
try {
  for (let run = 0; run < RUNS; run++) {
    // Alternate which build goes first, so neither always runs on a warmer machine.
    const names = Object.keys(cases);
    const order = run % 2 === 0 ? names : [...names.filter((n) => n.endsWith('after')), ...names.filter((n) => n.endsWith('before'))];
    for (const name of order) {
      const result = await runCase(CASE, cases[name], { INNERWORKS_API_KEY: emulator.env.INNERWORKS_API_KEY });
      results[name].push(result);
      process.stderr.write(`  ${name}: ${Math.round(result.recordsPerSec)} records/s, ${Math.round(result.recordsPerCpuSec)} records/CPU-s\n`);
    }
  }
} finally {
  await emulator.close();
  await postgres.close();
}
const load = `${loadBefore.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end`;

const summary = Object.fromEntries(
  Object.entries(results).map(([name, runs]) => [
    name,
    {
      records: runs[0].records,
      recordsPerSec: median(runs.map((r) => r.recordsPerSec)),
      recordsPerCpuSec: median(runs.map((r) => r.recordsPerCpuSec)),
      runs: runs.map((r) => Math.round(r.recordsPerSec)),
      cpuRuns: runs.map((r) => Math.round(r.recordsPerCpuSec)),
    },
  ]),
);
const ratio = (what, key = 'recordsPerSec') => Number((summary[`${what}, after`][key] / summary[`${what}, before`][key]).toFixed(3));
const count = (n) => Math.round(n).toLocaleString('en-US');
const row = (name) => [name, count(summary[name].records), count(summary[name].recordsPerSec), count(summary[name].recordsPerCpuSec), summary[name].runs.join(' / '), summary[name].cpuRuns.join(' / ')];
const WHAT = ['CSV export', 'PostgreSQL export', 'mapping + CSV line'];

printBenchmark({
  benchmark: 'hostile-values',
  title: `Hostile-value checks: this build against ${baseline.sha} (before them), ${RECORDS.toLocaleString('en-US')} records, ${BATCH}-record pages`,
  command: 'npm run bench -- hostile-values',
  tables: [
    {
      title: 'records/s of each build, same run, interleaved',
      columns: ['case', 'records', 'records/s (wall)', 'records per CPU-s', 'runs (records/s)', 'runs (records per CPU-s)'],
      rows: WHAT.flatMap((what) => [row(`${what}, before`), row(`${what}, after`)]),
    },
    { title: 'after / before', columns: ['case', 'records/s (wall)', 'records per CPU-s'], rows: WHAT.map((what) => [what, ratio(what).toFixed(3), ratio(what, 'recordsPerCpuSec').toFixed(3)]) },
  ],
  checks: ['CSV export', 'PostgreSQL export'].flatMap((what) => [
    { claim: `${what}: the checks cost <= 10 % of records/s (after >= 0.90 x before)`, value: ratio(what), target: 0.9, pass: ratio(what) >= 0.9 },
    { claim: `${what}: the checks cost <= 10 % of records per CPU-s of the exporting process`, value: ratio(what, 'recordsPerCpuSec'), target: 0.9, pass: ratio(what, 'recordsPerCpuSec') >= 0.9 },
  ]),
  notes: [
    `Medians of ${RUNS} rounds; in each round every case runs once in its own process (the order of the builds alternates between rounds), against one emulator process and one PostgreSQL cluster (fsync on).`,
    `"before" is a build of ${baseline.sha} (\`git archive\` into benchmarks/tmp/, built with tsc), "after" this tree's dist/. Both export the emulator's ordinary records: this is the cost of the checks on data that passes them.`,
    'What the checks add per record: each text cell is tested for NUL and lone surrogates (`includes`, `isWellFormed`), each timestamp is parsed by a strict RFC 3339 pattern with a calendar check instead of Date.parse, extras keys go into a null-prototype object; PostgreSQL JSON columns are `json` instead of `jsonb`.',
    'records per CPU-s: records over the user + system CPU time of the exporting process alone (not the emulator, not PostgreSQL); on a shared machine it moves far less with other load than the wall-clock rate, and the checks are CPU work in that process.',
    `Load average of the machine (1 min): ${load}; other jobs share the 2 cores, so the absolute rates are below an idle machine's (benchmarks/destinations): the ratios of the same run are what this measures.`,
    `The mapping row times \`csvRows()\` alone (${MAPPED.toLocaleString('en-US')} records from 10 parsed pages, in-process): the upper bound of what the checks can cost an export.`,
  ],
});
