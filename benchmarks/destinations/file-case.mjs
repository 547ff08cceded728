// One file destination case in its own process (its peak RSS is its own):
//   node file-case.mjs <jsonl|csv|parquet> <baseUrl> <records> <batchSize> [dist]
// exportInferenceResults from the emulator into a fresh file of that format (the API key from
// INNERWORKS_API_KEY), timed from the call to the finished, fsynced file (for Parquet: the
// parts merged into one file), with the CPU time (user + sys) of this process over the same
// span. Parquet's DuckDB runs in a host process the export starts: its peak RSS and CPU are
// reported beside this process's (hostPeakRssMb, hostCpuMs; absent for a build without a host,
// where DuckDB's threads were this process's). `dist`: another build's dist directory (the
// --baseline build). Prints one JSON line (report()).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { report } from '../lib.mjs';

const [format, baseUrl, recordsText, batchText, dist] = process.argv.slice(2);
const distDir = dist ?? new URL('../../dist', import.meta.url).pathname;
const { exportInferenceResults } = await import(pathToFileURL(join(distDir, 'index.js')).href);
const hostModule = join(distDir, 'destinations', 'duckdb-host.js');
const { duckdbHostUsage } = existsSync(hostModule) ? await import(pathToFileURL(hostModule).href) : {};
const dir = await mkdtemp(join(tmpdir(), `bench-${format}-`));
try {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const summary = await exportInferenceResults({ file: join(dir, `out.${format}`), apiKey: process.env.INNERWORKS_API_KEY, baseUrl, batchSize: Number(batchText) });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (summary.records !== Number(recordsText)) throw new Error(`exported ${summary.records} records, expected ${recordsText}`);
  const host = duckdbHostUsage?.();
  report({
    records: summary.records,
    recordsPerSec: summary.records / seconds,
    mbPerSec: summary.bytes / 1e6 / seconds,
    bytes: summary.bytes,
    cpuMs: (cpu.user + cpu.system) / 1000,
    ...(host && host.peakRssMb > 0 ? { hostPeakRssMb: Number(host.peakRssMb.toFixed(1)), hostCpuMs: Math.round(host.cpuMs) } : {}),
  });
} finally {
  await rm(dir, { recursive: true, force: true });
}
