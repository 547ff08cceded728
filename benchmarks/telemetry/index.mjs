// What OpenTelemetry costs (issue 17): export and predict rates of three builds side by side in
// one run: (a) a build of the commit before spans and metrics were added (--baseline REF, default
// b0c99ba), (b) this tree's build with no SDK registered (the API's no-ops: what every user who
// does not use OpenTelemetry runs), (c) this tree's build with an SDK registered (batch span
// processor, context manager, a metric reader every second; exporters that drop what they get).
// Harshest setting for the overhead: loopback, no added latency, so the client's CPU is the limit.
// Cases are interleaved round by round (the order rotates) against two emulator processes; each
// case runs in its own process; medians. Targets: (b) >= 0.95 x (a), (c) >= 0.85 x (a).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { baselineDist, median, printBenchmark, runCase, startEmulatorProcess, startServerProcess, ROOT } from '../lib.mjs';

const quick = process.argv.includes('--quick');
const baselineArg = process.argv.indexOf('--baseline');
const BASELINE = baselineArg > 0 ? process.argv[baselineArg + 1] : 'b0c99ba';
const roundsArg = process.argv.indexOf('--rounds');
const RUNS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : quick ? 1 : 5;
const RECORDS = quick ? 50_000 : 300_000;
const DOCUMENTS = quick ? 20_000 : 100_000;
const CASE = join(ROOT, 'benchmarks', 'telemetry', 'case.mjs');
const versionOf = (name) => JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
const SDK = ['@opentelemetry/api', '@opentelemetry/sdk-trace', '@opentelemetry/sdk-metrics'].map((name) => `${name} ${versionOf(name)}`).join(', ');

const baseline = baselineDist(BASELINE, 'telemetry');
const variants = {
  [`(a) ${baseline.sha}, before`]: [baseline.dist, 'none'],
  '(b) this build, no SDK': [join(ROOT, 'dist'), 'none'],
  '(c) this build, SDK registered': [join(ROOT, 'dist'), 'sdk'],
};
const [A, B, C] = Object.keys(variants);
const innerworks = await startEmulatorProcess(['--records', String(RECORDS)]);
const reinfer = await startServerProcess([join(ROOT, 'benchmarks', 'reinfer-predict', 'emulator.mjs'), '0', '0', 'Infinity', '100']);
const workloads = {
  export: { count: RECORDS, url: innerworks.url, unit: 'records' },
  predict: { count: DOCUMENTS, url: reinfer.url, unit: 'documents' },
};
const env = { INNERWORKS_API_KEY: innerworks.env.INNERWORKS_API_KEY, REINFER_TOKEN: reinfer.env.REINFER_TOKEN };
const names = Object.keys(workloads).flatMap((workload) => Object.keys(variants).map((variant) => [workload, variant]));
const results = Object.fromEntries(names.map(([w, v]) => [`${w} ${v}`, []]));
const loadBefore = loadavg()[0];
try {
  for (let run = 0; run < RUNS; run++) {
    // Rotate the order, so that no variant always runs first (or last) in a round.
    const order = names.map((_, i) => names[(i + run) % names.length]);
    for (const [workload, variant] of order) {
      const { count, url } = workloads[workload];
      const [dist, sdk] = variants[variant];
      const result = await runCase(CASE, [dist, sdk, workload, url, String(count)], env);
      results[`${workload} ${variant}`].push(result);
      process.stderr.write(`  ${workload} ${variant}: ${Math.round(result.recordsPerSec)}/s, ${Math.round(result.recordsPerCpuSec)}/CPU-s, ${result.spans} spans\n`);
    }
  }
} finally {
  await innerworks.close();
  await reinfer.close();
}
const load = `${loadBefore.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end`;

const summary = Object.fromEntries(
  Object.entries(results).map(([name, runs]) => [
    name,
    {
      count: runs[0].records,
      perSec: median(runs.map((r) => r.recordsPerSec)),
      perCpuSec: median(runs.map((r) => r.recordsPerCpuSec)),
      spans: runs[0].spans,
      runs: runs.map((r) => Math.round(r.recordsPerSec)),
      cpuRuns: runs.map((r) => Math.round(r.recordsPerCpuSec)),
    },
  ]),
);
const n = (value) => Math.round(value).toLocaleString('en-US');
const ratio = (workload, variant, key) => Number((summary[`${workload} ${variant}`][key] / summary[`${workload} ${A}`][key]).toFixed(3));
const rows = (workload) =>
  Object.keys(variants).map((variant) => {
    const s = summary[`${workload} ${variant}`];
    return [`${workload}: ${variant}`, n(s.count), n(s.perSec), n(s.perCpuSec), String(s.spans), s.runs.join(' / '), s.cpuRuns.join(' / ')];
  });
const checks = Object.keys(workloads).flatMap((workload) =>
  [
    [B, 0.95, 'no SDK: <= 5 % cost'],
    [C, 0.85, 'SDK registered: <= 15 % cost'],
  ].flatMap(([variant, target, what]) =>
    [
      ['perSec', 'rate (wall)'],
      ['perCpuSec', 'per CPU-s'],
    ].map(([key, label]) => {
      const value = ratio(workload, variant, key);
      return { claim: `${workload}, ${what}: ${variant.slice(0, 3)} / (a) ${label} >= ${target}`, value, target, pass: value >= target };
    }),
  ),
);

printBenchmark({
  benchmark: 'telemetry',
  title: `OpenTelemetry cost: export of ${n(RECORDS)} records and predict of ${n(DOCUMENTS)} documents, before spans and metrics (${baseline.sha}), without and with an SDK`,
  command: 'npm run bench -- telemetry',
  tables: [
    {
      title: 'rates of each variant, same run, interleaved (loopback, no added latency)',
      columns: ['case', 'records / documents', 'per s (wall)', 'per CPU-s', 'spans exported', 'runs (per s)', 'runs (per CPU-s)'],
      rows: [...rows('export'), ...rows('predict')],
    },
    {
      title: 'against (a)',
      columns: ['case', 'per s (wall)', 'per CPU-s'],
      rows: Object.keys(workloads).flatMap((workload) => [B, C].map((variant) => [`${workload}: ${variant}`, ratio(workload, variant, 'perSec').toFixed(3), ratio(workload, variant, 'perCpuSec').toFixed(3)])),
    },
  ],
  checks,
  notes: [
    `Medians of ${RUNS} rounds; in each round every case runs once in its own process, the order rotating between rounds, against one Innerworks emulator process and one Reinfer emulator process (no latency, no concurrency limit).`,
    `(a) is a build of ${baseline.sha} (\`git archive\` into benchmarks/tmp/, built with tsc): the library before spans and metrics. (b) and (c) are this tree's dist/. Export: exportInferenceResults to a JSONL file, default page size (1000). Predict: predictDocuments with its defaults (batches of 2048, 4 in flight).`,
    `(c) registers what an application would: a TracerProvider + BatchSpanProcessor, the AsyncLocalStorage context manager, a MeterProvider with a PeriodicExportingMetricReader every second (${SDK}); the exporters count and drop (the cost of a collector is not the library's).`,
    'per CPU-s: records (documents) over the user + system CPU time of the client process alone (not the emulators); on a shared machine it moves far less with other load than the wall-clock rate.',
    `Load average of the machine (1 min): ${load}; the machine (2 cores) was shared with other jobs, so absolute rates are below an idle machine's: the ratios within this run are what it measures.`,
  ],
});
