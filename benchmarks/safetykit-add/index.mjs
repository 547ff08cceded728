// SafetyKit add: dataWriter (batches of 1000, 4 in flight) against the naive loop the vendor SDK
// allows (one batch of 1000 at a time), at 0 ms and 20 ms of emulated server latency.
import { join } from 'node:path';
import { median, printBenchmark, runCase, startEmulatorProcess } from '../lib.mjs';

const quick = process.argv.includes('--quick');
const COUNT = quick ? 50_000 : Number(process.env.SAFETYKIT_ADD_COUNT ?? 1_000_000);
const RUNS = 3;
const here = new URL('.', import.meta.url).pathname;
const rows = [];
const checks = [];
for (const latencyMs of [0, 20]) {
  const emulator = await startEmulatorProcess(['--latency-ms', String(latencyMs)]);
  const key = emulator.env.SAFETYKIT_API_KEY;
  try {
    // Rounds interleaved (naive, writer, naive, writer, ...) so that load on the shared machine hits both alike.
    const runs = { naive: [], writer: [] };
    for (let i = 0; i < RUNS; i++) {
      runs.naive.push(await runCase(join(here, 'naive.mjs'), [emulator.url, key, String(COUNT)]));
      runs.writer.push(await runCase(join(here, 'writer.mjs'), [emulator.url, key, String(COUNT), '4']));
    }
    const summary = (all) => ({ ...all.find((r) => r.perSecond === median(all.map((x) => x.perSecond))) ?? all[0], perSecond: median(all.map((r) => r.perSecond)), cpuS: median(all.map((r) => r.cpuS)), peakRssMb: Math.max(...all.map((r) => r.peakRssMb)), runs: all.map((r) => r.perSecond) });
    const naive = summary(runs.naive);
    const writer = summary(runs.writer);
    // Ratios per round (the writer against the naive loop of the same round), then their median.
    const speedup = Number(median(runs.writer.map((r, i) => r.perSecond / runs.naive[i].perSecond)).toFixed(2));
    const cpuRatio = Number(median(runs.writer.map((r, i) => r.cpuS / runs.naive[i].cpuS)).toFixed(2));
    const fmt = (r) => [Math.round(r.perSecond).toLocaleString('en-US'), r.seconds.toFixed(1), r.cpuS.toFixed(2), r.peakRssMb.toFixed(0), r.runs.map((v) => Math.round(v).toLocaleString('en-US')).join(' / ')];
    rows.push([`naive loop, one batch of 1000 at a time`, `${latencyMs} ms`, ...fmt(naive), '1.00', '1.00']);
    rows.push([`dataWriter, batchSize 1000, concurrency 4`, `${latencyMs} ms`, ...fmt(writer), speedup.toFixed(2), cpuRatio.toFixed(2)]);
    checks.push({ claim: `dataWriter objects/s >= naive loop (${latencyMs} ms latency)`, value: speedup, target: 1, pass: speedup >= 1 });
    checks.push({ claim: `dataWriter peak RSS < 120 MB (${latencyMs} ms latency)`, value: writer.peakRssMb, target: 120, pass: writer.peakRssMb < 120 });
  } finally {
    await emulator.close();
  }
}
printBenchmark({
  benchmark: 'safetykit-add',
  title: `SafetyKit add of ${COUNT.toLocaleString('en-US')} objects`,
  command: 'npm run bench -- safetykit-add',
  tables: [
    {
      title: `Median of ${RUNS} rounds, each case in its own process, naive and dataWriter taking turns; emulator in another process`,
      columns: ['case', 'server latency', 'objects/s', 'seconds', 'client CPU s (user+sys)', 'peak RSS MB (max)', 'runs (objects/s)', 'vs naive (median of per-round ratios)', 'CPU vs naive'],
      rows,
    },
  ],
  checks,
  notes: [
    'Objects are ~300 B listing-like records generated in the client process; each add carries 1000 of them (~300 kB).',
    'The 20 ms row adds that latency to every emulator answer, as a stand-in for a real network round trip plus server time.',
    'Client CPU s is user + system time of the adding process (rusage): on a loaded machine it is steadier than objects/s.',
    'dataWriter writes each object\'s JSON text once into its batch\'s request body (one Buffer), instead of keeping 1000 strings per batch and joining them.',
  ],
});
