// One case of the hostile-values benchmark in its own process, run against a build given by its
// dist directory (the current one, or a baseline built from an earlier commit):
//   node case.mjs <distDir> csv      <baseUrl> <records> <batchSize>
//   node case.mjs <distDir> postgres <baseUrl> <records> <batchSize> <postgresUrl>
//   node case.mjs <distDir> mapping  <records>
// csv / postgres: exportInferenceResults from the emulator into a fresh CSV file / table (the API
// key from INNERWORKS_API_KEY). mapping: the column mapping alone, in-process: 10 pages of the
// emulator's dataset, parsed before the clock starts, each record made a row and the row a CSV
// line (csvRows), `records` rows in all. Prints one JSON line (report()): records/s by the
// wall clock, and records per CPU-second of this process (user + system), which another
// process's load on the shared cores changes far less.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { report } from '../lib.mjs';

const [distDir, mode, ...args] = process.argv.slice(2);
const load = (path) => import(pathToFileURL(join(distDir, path)).href);
const PAGE = 5000;

/** Wall clock and this process's CPU time from now; `rates(records)` per second of each. */
function start() {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return {
    rates(records) {
      const used = process.cpuUsage(cpu);
      return { records, recordsPerSec: records / ((performance.now() - wall) / 1000), recordsPerCpuSec: records / ((used.user + used.system) / 1e6) };
    },
  };
}

if (mode === 'csv' || mode === 'postgres') {
  const [baseUrl, recordsText, batchText, postgresUrl] = args;
  const { exportInferenceResults } = await load('index.js');
  const dir = mode === 'csv' ? await mkdtemp(join(tmpdir(), 'bench-hostile-')) : undefined;
  const target = dir ? { file: join(dir, 'out.csv') } : { to: postgresUrl, table: `bench_hostile_${process.pid}` };
  try {
    const clock = start();
    const summary = await exportInferenceResults({ ...target, apiKey: process.env.INNERWORKS_API_KEY, baseUrl, batchSize: Number(batchText) });
    if (summary.records !== Number(recordsText)) throw new Error(`${mode}: exported ${summary.records} records, expected ${recordsText}`);
    report(clock.rates(summary.records));
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
} else if (mode === 'mapping') {
  const total = Number(args[0]);
  const { innerworksMapping } = await load('destinations/columns.js');
  const { csvRows } = await load('destinations/csv.js');
  const { InnerworksDataset } = await load('emulator/innerworks-data.js');
  const dataset = new InnerworksDataset(1, 10 * PAGE, Date.UTC(2024, 0, 1), 1000);
  const pool = Array.from({ length: 10 }, (_, i) => JSON.parse(`[${dataset.recordsJson(i * PAGE, (i + 1) * PAGE)}]`));
  const mapping = innerworksMapping();
  const clock = start();
  for (let done = 0; done < total; done += PAGE) csvRows(mapping, pool[(done / PAGE) % pool.length]);
  report(clock.rates(total));
} else {
  throw new Error(`unknown mode ${mode}`);
}
