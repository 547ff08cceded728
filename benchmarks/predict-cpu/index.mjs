// Issue 18's predict rows: predictDocuments at the defaults (batchSize 2048, concurrency 4)
// against a raw undici client at the same settings that makes and JSON.stringify's its bodies
// inside the clock (and the pre-serialized raw client for reference), docs/s and CPU per
// document (user+sys of each case's own process; the emulator runs in another process). With
// PREDICT_BASELINE_DIST=<dist dir of another build> (PREDICT_BASELINE_LABEL names it), that
// build's predictDocuments runs in the same interleaved rounds: the before/after of the CPU.
// The cases are those of benchmarks/reinfer-predict (case.mjs, emulator.mjs, same latency model).
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { median, printBenchmark, runCase, startServerProcess } from '../lib.mjs';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 2 : 3;
const N = quick ? 20_000 : 100_000;
const BATCH = 2048;
const CONCURRENCY = 4;
const [LATENCY_MS, PER_DOC_MS, MAX_CONCURRENT, RETRY_AFTER_MS] = [100, 0.02, 8, 100];
const BASELINE_DIST = process.env.PREDICT_BASELINE_DIST;
const BASELINE_LABEL = process.env.PREDICT_BASELINE_LABEL ?? BASELINE_DIST;

const dir = join(new URL('.', import.meta.url).pathname, '..', 'reinfer-predict');
const script = join(dir, 'case.mjs');
const loadBefore = loadavg()[0];
const emulator = await startServerProcess([join(dir, 'emulator.mjs'), String(LATENCY_MS), String(PER_DOC_MS), String(MAX_CONCURRENT), String(RETRY_AFTER_MS)]);
const token = emulator.env.REINFER_TOKEN;
const args = (mode) => [emulator.url, token, String(N), mode, String(BATCH), String(CONCURRENCY), 'ordered'];
const cases = {
  raw: { name: `raw limit: undici, bodies serialized before the clock`, run: () => runCase(script, args('raw')) },
  serializing: { name: `raw client: undici, bodies made and JSON.stringify'd inside the clock`, run: () => runCase(script, args('raw-serializing')) },
  ours: { name: `predictDocuments at the defaults (this build)`, run: () => runCase(script, args('stream')) },
  ...(BASELINE_DIST ? { baseline: { name: `predictDocuments at the defaults, build of ${BASELINE_LABEL} (before)`, run: () => runCase(script, args('stream'), { BENCH_DIST: BASELINE_DIST }) } } : {}),
};

const runs = Object.fromEntries(Object.keys(cases).map((key) => [key, []]));
try {
  // Interleaved: every case once per round, so a burst of load from other work falls on all alike.
  for (let round = 0; round < RUNS; round++) {
    for (const [key, c] of Object.entries(cases)) {
      const r = await c.run();
      runs[key].push(r);
      process.stderr.write(`  round ${round + 1} ${key}: ${r.docsPerSecond.toFixed(0)} docs/s, ${r.cpuUsPerDoc.toFixed(1)} µs CPU/doc\n`);
    }
  }
} finally {
  await emulator.close();
}
const loadAfter = loadavg()[0];

const med = (key, field) => median(runs[key].map((r) => r[field]));
// Ratios within each round (the cases of a round ran a minute apart at most), then their median.
const ratio = (a, b, field) => median(runs[a].map((r, i) => r[field] / runs[b][i][field]));
const f0 = (x) => x.toFixed(0);
const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);
const vsSerializing = ratio('ours', 'serializing', 'docsPerSecond');
const cpuVsSerializing = ratio('ours', 'serializing', 'cpuUsPerDoc');
const cpuVsBaseline = runs.baseline ? ratio('ours', 'baseline', 'cpuUsPerDoc') : undefined;
// What "halved" asks, next to what the raw clients themselves spend against the same old build:
// a client that parses every answer cannot go below the raw limit's CPU.
const rawVsBaseline = runs.baseline ? ratio('raw', 'baseline', 'cpuUsPerDoc') : undefined;
const serializingVsBaseline = runs.baseline ? ratio('serializing', 'baseline', 'cpuUsPerDoc') : undefined;
printBenchmark({
  benchmark: 'predict-cpu',
  title: `Predict CPU per document: predictDocuments at the defaults vs raw undici clients, ${N.toLocaleString('en-US')} documents, batchSize ${BATCH}, concurrency ${CONCURRENCY}`,
  command: `${BASELINE_DIST ? `PREDICT_BASELINE_DIST=${BASELINE_DIST} ` : ''}npm run bench -- predict-cpu`,
  tables: [
    {
      title: `Median of ${RUNS} interleaved rounds, each case in its own process; emulator in another process (latency ${LATENCY_MS} ms + ${PER_DOC_MS} ms/document)`,
      columns: ['case', 'docs/s', 'CPU µs/doc (user+sys)', 'user ms', 'sys ms', 'GC ms', 'peak RSS MB', 'runs: docs/s', 'runs: CPU µs/doc'],
      rows: Object.entries(cases).map(([key, c]) => [
        c.name,
        f0(med(key, 'docsPerSecond')),
        f1(med(key, 'cpuUsPerDoc')),
        f0(med(key, 'cpuUserMs')),
        f0(med(key, 'cpuSystemMs')),
        f0(med(key, 'gcMs')),
        f0(med(key, 'peakRssMb')),
        runs[key].map((r) => f0(r.docsPerSecond)).join(' / '),
        runs[key].map((r) => f1(r.cpuUsPerDoc)).join(' / '),
      ]),
    },
  ],
  checks: [
    { claim: 'predict at the defaults docs/s >= 0.9 × raw client that serializes inside the clock (median of within-round ratios)', value: Number(f2(vsSerializing)), target: 0.9, pass: vsSerializing >= 0.9 },
    cpuVsBaseline === undefined
      ? { claim: 'predict CPU per document at the defaults halved (set PREDICT_BASELINE_DIST to a build of the old code to measure)', value: 'not measured', target: 0.5, pass: false }
      : { claim: `predict CPU per document at the defaults <= 0.5 × build of ${BASELINE_LABEL} (median of within-round ratios)`, value: Number(f2(cpuVsBaseline)), target: 0.5, pass: cpuVsBaseline <= 0.5 },
    ...(rawVsBaseline === undefined
      ? []
      : [
          { claim: `for reference, the raw limit's CPU per document vs build of ${BASELINE_LABEL} (what halving asks is below this when the target is under it)`, value: Number(f2(rawVsBaseline)), target: '—', pass: true },
          { claim: `for reference, the raw client that serializes inside the clock: CPU per document vs build of ${BASELINE_LABEL}`, value: Number(f2(serializingVsBaseline)), target: '—', pass: true },
        ]),
    { claim: 'predict CPU per document at the defaults vs raw client that serializes inside the clock (ratio; lower is better)', value: Number(f2(cpuVsSerializing)), target: '—', pass: true },
    { claim: 'predict at the defaults docs/s vs raw limit with pre-serialized bodies (ratio)', value: Number(f2(ratio('ours', 'raw', 'docsPerSecond'))), target: '—', pass: true },
  ],
  notes: [
    `Load average (1 min) of this 2-core machine: ${f1(loadBefore)} at the start, ${f1(loadAfter)} at the end${loadBefore > 3 || loadAfter > 3 ? ': a loaded machine (other work ran alongside), so docs/s move with the load; CPU µs/doc is the robust measure' : ''}.`,
    'CPU µs/doc = user+sys CPU of the case\'s own process (process.cpuUsage from before the first document is made to the last answer) over its documents. GC ms = wall time of the garbage-collection pauses (perf_hooks), a share of that CPU.',
    'Raw client that serializes inside the clock: documents made as the stream\'s input is (documentAt), each batch JSON.stringify\'d into one body, sent by undici request(), each answer read as text and JSON.parse\'d, nothing kept. predictDocuments also checks each document against the published limits, keeps each input for its output, builds one output object per document, keeps input order, and runs through Node streams.',
    ...(rawVsBaseline !== undefined && rawVsBaseline > 0.5
      ? [`Halving the CPU per document of ${BASELINE_LABEL} means ${f1(med('baseline', 'cpuUsPerDoc') / 2)} µs here, below the ${f1(med('raw', 'cpuUsPerDoc'))} µs of the raw limit, which makes no documents, serializes nothing inside the clock and only JSON.parses each answer: no client that parses the answers reaches it on this machine. The steadier yardstick is the raw client that serializes inside the clock (the CPU ratio row above).`]
      : []),
  ],
});
