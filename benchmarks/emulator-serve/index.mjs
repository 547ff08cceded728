// How fast the emulator serves Innerworks pages: a 5000-record page repeated (served from the
// page cache) and pages read in order by checkpoint (generated on demand). The client reads
// bytes only (undici request + arrayBuffer), so the emulator is what is measured. The emulator
// runs in its own process.
import { request } from 'undici';
import { median, printBenchmark, startEmulatorProcess } from '../lib.mjs';

const quick = process.argv.includes('--quick');
const RUNS = 3;
const REPEATS = quick ? 20 : 100;
const SEQUENTIAL_RECORDS = quick ? 50_000 : 300_000;

const emulator = await startEmulatorProcess(['--records', String(SEQUENTIAL_RECORDS)]);
const headers = { 'x-api-key': emulator.env.INNERWORKS_API_KEY };
const pageUrl = (batchSize, checkpoint) =>
  `${emulator.url}/api/v1/innerworks/inference/batch?${new URLSearchParams(checkpoint ? { batch_size: String(batchSize), checkpoint } : { batch_size: String(batchSize) })}`;

async function fetchBytes(url) {
  const res = await request(url, { headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
  return body;
}

/** The same page REPEATS times. */
async function repeated(batchSize) {
  await fetchBytes(pageUrl(batchSize)); // warm the cache
  const started = performance.now();
  let bytes = 0;
  for (let i = 0; i < REPEATS; i++) bytes += (await fetchBytes(pageUrl(batchSize))).length;
  const seconds = (performance.now() - started) / 1000;
  return { mbPerSec: bytes / 1e6 / seconds, recordsPerSec: (REPEATS * batchSize) / seconds };
}

/** Every page in order, following checkpoints (read from the end of the body: no parse). */
async function sequential(batchSize) {
  const started = performance.now();
  let bytes = 0;
  let records = 0;
  let checkpoint;
  for (;;) {
    const body = await fetchBytes(pageUrl(batchSize, checkpoint));
    bytes += body.length;
    const tail = body.subarray(-300).toString();
    const next = /"checkpoint":"([^"]+)"\}$/.exec(tail)[1];
    if (body.length < 200 && body.includes('"results":[]')) break;
    records += batchSize;
    checkpoint = next;
  }
  const seconds = (performance.now() - started) / 1000;
  return { mbPerSec: bytes / 1e6 / seconds, recordsPerSec: Math.min(records, SEQUENTIAL_RECORDS) / seconds };
}

const cases = {
  '5000-record page, repeated (cache)': () => repeated(5000),
  '1000-record page, repeated (cache)': () => repeated(1000),
  [`5000-record pages in order, ${SEQUENTIAL_RECORDS.toLocaleString('en-US')} records (generated)`]: () => sequential(5000),
};
const results = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
try {
  for (let run = 0; run < RUNS; run++) for (const [name, fn] of Object.entries(cases)) results[name].push(await fn());
} finally {
  await emulator.close();
}
const medians = Object.fromEntries(
  Object.entries(results).map(([name, runs]) => [name, { mbPerSec: median(runs.map((r) => r.mbPerSec)), recordsPerSec: median(runs.map((r) => r.recordsPerSec)), runs }]),
);
const cached = medians['5000-record page, repeated (cache)'];
printBenchmark({
  benchmark: 'emulator-serve',
  title: 'Emulator serving Innerworks pages (loopback)',
  command: 'npm run bench -- emulator-serve',
  tables: [
    {
      title: 'Client reads bytes only (undici request + arrayBuffer)',
      columns: ['case', 'MB/s', 'records/s', 'runs (MB/s)'],
      rows: Object.entries(medians).map(([name, m]) => [
        name,
        m.mbPerSec.toFixed(0),
        Math.round(m.recordsPerSec).toLocaleString('en-US'),
        m.runs.map((r) => r.mbPerSec.toFixed(0)).join(' / '),
      ]),
    },
  ],
  checks: [{ claim: 'a 5000-record page is served at >= 300 MB/s', value: Number(cached.mbPerSec.toFixed(0)), target: 300, pass: cached.mbPerSec >= 300 }],
  notes: [
    `Medians of ${RUNS} runs; ${REPEATS} requests per repeated case. The client and the emulator share the machine's 2 cores.`,
    'Pages generated on demand are written straight into a Buffer from a pool of pre-serialized result bodies; repeated pages come from an LRU of serialized pages.',
  ],
});
