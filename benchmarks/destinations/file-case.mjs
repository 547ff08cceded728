// One file destination case in its own process (its peak RSS is its own):
//   node file-case.mjs <jsonl|csv|parquet> <baseUrl> <records> <batchSize>
// exportInferenceResults from the emulator into a fresh file of that format (the API key from
// INNERWORKS_API_KEY), timed from the call to the finished, fsynced file (for Parquet: the
// parts merged into one file). Prints one JSON line (report()).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportInferenceResults } from '../../dist/index.js';
import { duckdbHostUsage } from '../../dist/destinations/duckdb-host.js';
import { report } from '../lib.mjs';

const [format, baseUrl, recordsText, batchText] = process.argv.slice(2);
const dir = await mkdtemp(join(tmpdir(), `bench-${format}-`));
try {
  const started = performance.now();
  const summary = await exportInferenceResults({ file: join(dir, `out.${format}`), apiKey: process.env.INNERWORKS_API_KEY, baseUrl, batchSize: Number(batchText) });
  const seconds = (performance.now() - started) / 1000;
  if (summary.records !== Number(recordsText)) throw new Error(`exported ${summary.records} records, expected ${recordsText}`);
  // Parquet: DuckDB's COPY runs in a host process; its peak RSS is reported beside this process's.
  report({ records: summary.records, recordsPerSec: summary.records / seconds, mbPerSec: summary.bytes / 1e6 / seconds, bytes: summary.bytes, hostPeakRssMb: Number(duckdbHostUsage().peakRssMb.toFixed(1)), hostCpuMs: Math.round(duckdbHostUsage().cpuMs), cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000) });
} finally {
  await rm(dir, { recursive: true, force: true });
}
