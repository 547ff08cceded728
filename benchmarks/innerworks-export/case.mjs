// One benchmark case in its own process (so its peak RSS is its own):
//   node case.mjs <mode> <baseUrl> <records> <batchSize> [partitions startTime endTime]
// mode: export  = exportInferenceResults (this library)
//       naive   = fetch + res.json() + write, one page at a time (what a user writes without us)
//       raw     = undici request + JSON.parse + JSON.stringify, no file (the client-side limit)
//       loop    = undici request + JSON.parse + JSON.stringify per record + append to a file,
//                 following checkpoints: the CPU baseline of issue 18 (no fsync, no resume)
// The API key comes from INNERWORKS_API_KEY. Prints one JSON line (report()), with the case's
// CPU time: user + sys from process.resourceUsage() (every thread of the process: fsyncs and
// file writes in libuv's pool count), from the start of the run to its end; the module loading
// before it is the same for every mode and left out.
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { exportInferenceResults } from '../../dist/index.js';
import { report } from '../lib.mjs';

const [mode, baseUrl, recordsText, batchText, partitionsText, startText, endText] = process.argv.slice(2);
const expectedRecords = Number(recordsText);
const batchSize = Number(batchText);
const apiKey = process.env.INNERWORKS_API_KEY;
const dir = await mkdtemp(join(tmpdir(), 'bench-innerworks-'));
const file = join(dir, 'out.jsonl');
const url = (checkpoint) =>
  `${baseUrl}/api/v1/innerworks/inference/batch?${new URLSearchParams(checkpoint ? { batch_size: String(batchSize), checkpoint } : { batch_size: String(batchSize) })}`;

const started = performance.now();
const cpuBefore = process.resourceUsage();
let records = 0;
let bytes = 0;
if (mode === 'export') {
  const partitions = Number(partitionsText ?? 1);
  const summary = await exportInferenceResults({
    file,
    apiKey,
    baseUrl,
    batchSize,
    ...(partitions > 1 ? { partitions, startTime: Number(startText), endTime: Number(endText) } : {}),
  });
  records = summary.records;
  bytes = summary.bytes;
} else if (mode === 'naive') {
  const handle = await open(file, 'w');
  let checkpoint;
  for (;;) {
    const res = await fetch(url(checkpoint), { headers: { 'x-api-key': apiKey } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const page = await res.json();
    if (page.results.length === 0) break;
    const text = page.results.map((r) => JSON.stringify(r)).join('\n') + '\n';
    await handle.write(text);
    records += page.results.length;
    bytes += Buffer.byteLength(text);
    checkpoint = page.checkpoint;
  }
  await handle.close();
} else if (mode === 'loop') {
  const handle = await open(file, 'w');
  let checkpoint;
  for (;;) {
    const res = await request(url(checkpoint), { headers: { 'x-api-key': apiKey } });
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
    const page = JSON.parse(await res.body.text());
    if (page.results.length === 0) break;
    let text = '';
    for (const record of page.results) text += `${JSON.stringify(record)}\n`;
    await handle.write(text);
    records += page.results.length;
    bytes += Buffer.byteLength(text);
    checkpoint = page.checkpoint;
  }
  await handle.close();
} else if (mode === 'raw') {
  let checkpoint;
  for (;;) {
    const res = await request(url(checkpoint), { headers: { 'x-api-key': apiKey } });
    const page = JSON.parse(await res.body.text());
    if (page.results.length === 0) break;
    for (const record of page.results) bytes += JSON.stringify(record).length + 1;
    records += page.results.length;
    checkpoint = page.checkpoint;
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
const elapsedMs = performance.now() - started;
const usage = process.resourceUsage();
const cpuMs = (usage.userCPUTime + usage.systemCPUTime - cpuBefore.userCPUTime - cpuBefore.systemCPUTime) / 1000;
await rm(dir, { recursive: true, force: true });
if (records !== expectedRecords) throw new Error(`${mode}: expected ${expectedRecords} records, got ${records}`);
report({ mode, records, bytes, elapsedMs, cpuMs, cpuUsPerRecord: (cpuMs * 1000) / records, recordsPerSec: (records * 1000) / elapsedMs, mbPerSec: bytes / 1e6 / (elapsedMs / 1000) });
process.exit(0);
