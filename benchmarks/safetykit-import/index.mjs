// SafetyKit import: importFile (the file itself streamed into the PUT while its lines are checked)
// and importWriter (check + spool, for stdin and object streams) against the raw limit, the same
// file PUT straight to the same upload URL with undici. Each run in its own process; the cases
// take turns (raw, file, …, raw, file, …) so that load on the shared machine hits them alike.
// importFile of a build before the worker check (--baseline REF, default 210a605: every line
// checked on the main thread) runs in the same rounds, built from git into benchmarks/tmp/.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineDist, median, printBenchmark, runCase, startEmulatorProcess } from '../lib.mjs';
import { generateJsonl } from './generate.mjs';

const quick = process.argv.includes('--quick');
const baselineArg = process.argv.indexOf('--baseline');
const baseline = baselineDist(baselineArg > 0 ? process.argv[baselineArg + 1] : '210a605', 'safetykit-import');
const MB = quick ? 64 : Number(process.env.SAFETYKIT_IMPORT_MB ?? 1000);
const RUNS = quick ? 3 : Number(process.env.SAFETYKIT_IMPORT_RUNS ?? 5);
const PART = 128 * 1024 * 1024;
const here = new URL('.', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'bench-safetykit-import-'));
const file = join(dir, 'listings.jsonl');
const bytes = await generateJsonl(file, MB);
const emulator = await startEmulatorProcess();
const loads = [loadavg()[0]];
const key = emulator.env.SAFETYKIT_API_KEY;

const cases = {
  raw: () => runCase(join(here, 'raw-put.mjs'), [emulator.url, key, file]),
  file: () => runCase(join(here, 'import-file.mjs'), [emulator.url, key, file, 'default', dir]),
  fileParts: () => runCase(join(here, 'import-file.mjs'), [emulator.url, key, file, String(PART), dir]),
  before: () => runCase(join(here, 'import-file.mjs'), [emulator.url, key, file, 'default', dir, baseline.dist]),
  spool: () => runCase(join(here, 'import.mjs'), [emulator.url, key, file, String(PART), dir]),
};

try {
  const runs = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const [name, run] of Object.entries(cases)) runs[name].push(await run());
    loads.push(loadavg()[0]);
  }
  const result = (name) => {
    const all = runs[name];
    const mbps = median(all.map((r) => r.mbps));
    return { ...all.find((r) => r.mbps === mbps) ?? all[0], mbps, peakRssMb: Math.max(...all.map((r) => r.peakRssMb)), runs: all.map((r) => r.mbps) };
  };
  // Ratios per round (each case against the raw PUT of the same round), then their median.
  const ratio = (name) => Number(median(runs[name].map((r, i) => r.mbps / runs.raw[i].mbps)).toFixed(2));
  const [raw, single, parts, before, spool] = ['raw', 'file', 'fileParts', 'before', 'spool'].map(result);
  const row = (label, r, name) => [label, r.mbps.toFixed(0), r.seconds.toFixed(2), r.cpuS.toFixed(2), r.peakRssMb.toFixed(0), name ? ratio(name).toFixed(2) : '1.00', r.runs.map((v) => v.toFixed(0)).join(' / ')];
  printBenchmark({
    benchmark: 'safetykit-import',
    title: `SafetyKit import of a ${(bytes / 1e6).toFixed(0)} MB JSONL file`,
    command: 'npm run bench -- safetykit-import',
    tables: [
      {
        title: `Median of ${RUNS} rounds, each case in its own process, cases taking turns; emulator in another process`,
        columns: ['case', 'MB/s', 'seconds', 'client CPU s', 'peak RSS MB (max)', 'vs raw PUT (median of per-round ratios)', 'runs (MB/s)'],
        rows: [
          row('raw limit: undici PUT of the file (fs stream, Content-Length) to the upload URL', raw),
          row('importFile, one part (default partBytes 1 GiB): the file streamed into the PUT while its lines are checked', single, 'file'),
          row('importFile, partBytes 128 MiB: byte ranges of the file, one PUT each', parts, 'fileParts'),
          row(`importFile of ${baseline.sha} (before: every line checked on the main thread), one part`, before, 'before'),
          row('importWriter (stdin, object streams), partBytes 128 MiB: check + spool, part n uploads while part n+1 spools', spool, 'spool'),
        ],
      },
    ],
    checks: [
      { claim: 'importFile (default) MB/s >= 0.7 x raw PUT', value: ratio('file'), target: 0.7, pass: ratio('file') >= 0.7 },
      { claim: 'importFile (128 MiB parts) MB/s >= 0.7 x raw PUT', value: ratio('fileParts'), target: 0.7, pass: ratio('fileParts') >= 0.7 },
      { claim: 'importFile peak RSS <= raw PUT peak RSS + 40 MB', value: Math.max(single.peakRssMb, parts.peakRssMb), target: Math.round(raw.peakRssMb + 40), pass: Math.max(single.peakRssMb, parts.peakRssMb) <= raw.peakRssMb + 40 },
    ],
    notes: [
      `File: ${(bytes / 1e6).toFixed(0)} MB of generated listing objects (~${Math.round(bytes / single.objects)} B/line, ${single.objects} lines).`,
      'Times cover reading the file, checking every line, POST /import and the PUT (importWriter also writes the spool); not the polling (wait: false).',
      'The raw PUT does none of the checking, so it bounds what any importer can reach on this machine. Client CPU s is user + system time of the importing process (worker threads included, module loading too: ~0.3 s for the raw PUT, ~0.4 s for importFile): the cost of checking, much less dependent on the machine\'s load than MB/s.',
      'importFile: the main thread only streams the part (1 MiB reads, one Readable, as a plain upload of the file would); a worker thread reads the same byte range from disk itself into one reused buffer (the WebAssembly memory: no bytes cross between the threads) and proves each line on its bytes (one strict JSON scan: an object whose top-level id is a non-empty string; anything else takes JSON.parse). A WebAssembly SIMD scan finds backslashes and control characters 16 bytes a step, so a string without them is skipped to its closing quote by one memchr. The last chunk of a part waits for the worker\'s verdict: a bad line cuts the PUT short and nothing is imported. importWriter still hands batches to a worker thread.',
      `Load average (1 min) during the run: ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} on ${availableParallelism()} cores (MB/s ratios are only meaningful when it stays below the core count).`,
      'Peak RSS: a bare process with undici loaded is ~60-67 MB; during any large undici PUT (ours or the raw one) native (non-V8, non-external) memory grows by ~30-35 MB until the request ends.',
    ],
  });
} finally {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
}
