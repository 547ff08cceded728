// SafetyKit add: dataWriter (batches of 1000, 4 in flight) against the naive loop the vendor SDK
// allows (one batch of 1000 at a time), at 0 ms and 20 ms of emulated server latency.
import { join } from 'node:path';
import { medianRun, printBenchmark, runCase, startEmulatorProcess } from '../lib.mjs';

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
    const naive = await medianRun(RUNS, () => runCase(join(here, 'naive.mjs'), [emulator.url, key, String(COUNT)]), 'perSecond');
    const writer = await medianRun(RUNS, () => runCase(join(here, 'writer.mjs'), [emulator.url, key, String(COUNT), '4']), 'perSecond');
    const speedup = Number((writer.perSecond / naive.perSecond).toFixed(2));
    const fmt = (r) => [Math.round(r.perSecond).toLocaleString('en-US'), r.seconds.toFixed(1), r.peakRssMb.toFixed(0), r.runs.map((v) => Math.round(v).toLocaleString('en-US')).join(' / ')];
    rows.push([`naive loop, one batch of 1000 at a time`, `${latencyMs} ms`, ...fmt(naive), '1.00']);
    rows.push([`dataWriter, batchSize 1000, concurrency 4`, `${latencyMs} ms`, ...fmt(writer), speedup.toFixed(2)]);
    checks.push({ claim: `dataWriter objects/s > naive loop (${latencyMs} ms latency)`, value: speedup, target: 1, pass: speedup > 1 });
    checks.push({ claim: `dataWriter peak RSS < 100 MB (${latencyMs} ms latency)`, value: writer.peakRssMb, target: 100, pass: writer.peakRssMb < 100 });
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
      title: `Median of ${RUNS} runs, each in its own process; emulator in another process`,
      columns: ['case', 'server latency', 'objects/s', 'seconds', 'peak RSS MB', 'runs (objects/s)', 'vs naive'],
      rows,
    },
  ],
  checks,
  notes: [
    'Objects are ~300 B listing-like records generated in the client process; each add carries 1000 of them (~300 kB).',
    'The 20 ms row adds that latency to every emulator answer, as a stand-in for a real network round trip plus server time.',
  ],
});
