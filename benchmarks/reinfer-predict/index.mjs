// Reinfer predictDocuments through the emulator's latency model (latency + per-document cost,
// a concurrency limit answered with 429): documents/s against the bound
// concurrency × batchSize / latency, a batchSize × concurrency grid that picks the defaults,
// ordered vs unordered, 'auto' vs the best fixed setting, and the vendor CLI's way (sequential
// batches of 128) as the baseline. Each case runs in its own process; the emulator in another.
// CPU per document (user+sys of the case's own process) next to a raw undici client that
// serializes its bodies inside the clock; benchmarks/predict-cpu is the short run of just those.
import { join } from 'node:path';
import { median, medianRun, printBenchmark, runCase, startServerProcess } from '../lib.mjs';

const quick = process.argv.includes('--quick');
const RUNS = 3;
const LATENCY_MS = 100;
const PER_DOC_MS = 0.02;
const MAX_CONCURRENT = 8;
const RETRY_AFTER_MS = 100;
const N = quick ? 20_000 : 100_000;
const NAIVE_N = quick ? 2_000 : 10_000;
const BATCH_SIZES = quick ? [512, 2048] : [128, 512, 1024, 2048, 4096];
const CONCURRENCIES = quick ? [1, 4, 8] : [1, 2, 4, 8];
// The defaults in src/reinfer/predict-stream.ts, which this benchmark is meant to justify.
const DEFAULT_BATCH = 2048;
const DEFAULT_CONCURRENCY = 4;

const here = new URL('.', import.meta.url).pathname;
const script = join(here, 'case.mjs');
const latency = (batch) => LATENCY_MS + PER_DOC_MS * batch;
const bound = (batch, concurrency) => (concurrency * batch * 1000) / latency(batch);

const emulator = await startEmulator();
const token = emulator.env.REINFER_TOKEN;
const stream = (n, batch, concurrency, order = 'ordered') => () => runCase(script, [emulator.url, token, String(n), 'stream', String(batch), String(concurrency), order]);
// Grid cases send 16 rounds of concurrency × batchSize documents (at most N): long enough to
// measure the steady state, short enough to run every cell 3 times.
const gridN = (batch, concurrency) => Math.min(N, batch * concurrency * 16);

try {
  // Runs are interleaved (every case once, then again, RUNS times) so that a burst of load from
  // other work on this shared machine hits every case alike instead of one row of the grid.
  const cells = [];
  for (const batch of BATCH_SIZES) for (const concurrency of CONCURRENCIES) cells.push({ batch, concurrency, run: stream(gridN(batch, concurrency), batch, concurrency) });
  const gridRuns = await interleaved(cells.map((c) => c.run));
  const grid = cells.map((c, i) => ({ batch: c.batch, concurrency: c.concurrency, ...gridRuns[i], ratio: gridRuns[i].docsPerSecond / bound(c.batch, c.concurrency) }));
  for (const g of grid) process.stderr.write(`grid ${g.batch} x ${g.concurrency}: ${g.docsPerSecond.toFixed(0)} docs/s (${g.ratio.toFixed(2)} of bound)\n`);
  // The pick: the fastest cell at concurrency <= 4 (half the server's limit: a tenant is shared).
  // The defaults must be within 10 % of it; fewer documents in flight cost less memory and less
  // to bisect when a batch is refused.
  const gentle = grid.filter((g) => g.concurrency <= 4);
  const pick = gentle.reduce((best, g) => (g.docsPerSecond > best.docsPerSecond ? g : best));
  const defaultCell = grid.find((g) => g.batch === DEFAULT_BATCH && g.concurrency === DEFAULT_CONCURRENCY);

  const raw = (concurrency, mode = 'raw') => () => runCase(script, [emulator.url, token, String(N), mode, String(DEFAULT_BATCH), String(concurrency)]);
  // 'auto' is compared with the best fixed concurrency for the same batch size (the grid's row).
  const bestConcurrency = grid.filter((g) => g.batch === DEFAULT_BATCH).reduce((best, g) => (g.docsPerSecond > best.docsPerSecond ? g : best)).concurrency;
  const [rawDefault, rawSerializing, rawBest, def, unordered, bestFixed, auto] = await interleaved([
    raw(DEFAULT_CONCURRENCY),
    raw(DEFAULT_CONCURRENCY, 'raw-serializing'),
    raw(MAX_CONCURRENT),
    stream(N, DEFAULT_BATCH, DEFAULT_CONCURRENCY),
    stream(N, DEFAULT_BATCH, DEFAULT_CONCURRENCY, 'unordered'),
    stream(N, DEFAULT_BATCH, bestConcurrency),
    stream(N, DEFAULT_BATCH, 'auto'),
  ]);
  const concurrency8 = bestConcurrency === MAX_CONCURRENT ? bestFixed : await medianRun(RUNS, stream(N, DEFAULT_BATCH, MAX_CONCURRENT), 'docsPerSecond');
  // Memory is bounded by the options, not the input: the same settings on 3× the documents.
  const large = await medianRun(1, stream(3 * N, DEFAULT_BATCH, DEFAULT_CONCURRENCY), 'docsPerSecond');
  const naive = await medianRun(RUNS, () => runCase(script, [emulator.url, token, String(NAIVE_N), 'naive', '128']), 'docsPerSecond');

  const f0 = (x) => x.toFixed(0);
  const f2 = (x) => x.toFixed(2);
  const f1 = (x) => x.toFixed(1);
  const row = (name, r, batch, concurrency) => [
    name,
    f0(r.docsPerSecond),
    f1(r.cpuUsPerDoc),
    typeof concurrency === 'number' ? f0(bound(batch, concurrency)) : '—',
    typeof concurrency === 'number' ? f2(r.docsPerSecond / bound(batch, concurrency)) : '—',
    String(r.n),
    String(r.requests),
    String(r.retries),
    f0(r.peakRssMb),
    r.runs.map(f0).join(' / '),
  ];
  const defRatio = def.docsPerSecond / bound(DEFAULT_BATCH, DEFAULT_CONCURRENCY);
  const bestRatio = concurrency8.docsPerSecond / bound(DEFAULT_BATCH, MAX_CONCURRENT);
  const autoVsBest = auto.docsPerSecond / bestFixed.docsPerSecond;
  const vsNaive = def.docsPerSecond / naive.docsPerSecond;
  // Within-round ratio: both cases of a round ran minutes apart at most, under the same load.
  const vsSerializing = median(def.all.map((r, i) => r.docsPerSecond / rawSerializing.all[i].docsPerSecond));
  const peak = Math.max(def.peakRssMb, unordered.peakRssMb, bestFixed.peakRssMb, concurrency8.peakRssMb, auto.peakRssMb);
  printBenchmark({
    benchmark: 'reinfer-predict',
    title: `Reinfer predictDocuments, ${N.toLocaleString('en-US')} documents, latency ${LATENCY_MS} ms + ${PER_DOC_MS} ms/document, server limit ${MAX_CONCURRENT} concurrent`,
    command: 'npm run bench -- reinfer-predict',
    tables: [
      {
        title: `Main cases: median of ${RUNS} interleaved runs, each in its own process; emulator in another process`,
        columns: ['case', 'docs/s', 'CPU µs/doc', 'bound docs/s', 'of bound', 'documents', 'requests', 'retries', 'peak RSS MB', 'runs (docs/s)'],
        rows: [
          row(`raw limit: undici, pre-serialized bodies, batchSize ${DEFAULT_BATCH}, concurrency ${DEFAULT_CONCURRENCY}`, rawDefault, DEFAULT_BATCH, DEFAULT_CONCURRENCY),
          row(`raw client: undici, bodies made and JSON.stringify'd inside the clock, batchSize ${DEFAULT_BATCH}, concurrency ${DEFAULT_CONCURRENCY}`, rawSerializing, DEFAULT_BATCH, DEFAULT_CONCURRENCY),
          row(`raw limit: same, concurrency ${MAX_CONCURRENT}`, rawBest, DEFAULT_BATCH, MAX_CONCURRENT),
          row(`defaults: batchSize ${DEFAULT_BATCH}, concurrency ${DEFAULT_CONCURRENCY}, ordered`, def, DEFAULT_BATCH, DEFAULT_CONCURRENCY),
          row(`batchSize ${DEFAULT_BATCH}, concurrency ${DEFAULT_CONCURRENCY}, unordered`, unordered, DEFAULT_BATCH, DEFAULT_CONCURRENCY),
          row(`concurrency ${MAX_CONCURRENT} (the server's limit), batchSize ${DEFAULT_BATCH}`, concurrency8, DEFAULT_BATCH, MAX_CONCURRENT),
          row(`best fixed for batchSize ${DEFAULT_BATCH} in the grid: concurrency ${bestConcurrency}`, bestFixed, DEFAULT_BATCH, bestConcurrency),
          [...row(`concurrency 'auto' (2 → up to 16), batchSize ${DEFAULT_BATCH}; mean level ${auto.concurrency}`, auto, DEFAULT_BATCH, 'auto')],
          row('naive baseline: sequential batches of 128 (the vendor CLI)', naive, 128, 1),
          row(`defaults on ${(3 * N).toLocaleString('en-US')} documents (1 run: memory check)`, large, DEFAULT_BATCH, DEFAULT_CONCURRENCY),
        ],
      },
      {
        title: `batchSize × concurrency: docs/s (share of the bound); median of ${RUNS} interleaved runs, each of min(${N}, 16 × batchSize × concurrency) documents`,
        columns: ['batchSize', ...CONCURRENCIES.map((c) => `concurrency ${c}`)],
        rows: BATCH_SIZES.map((batch) => [
          String(batch),
          ...CONCURRENCIES.map((c) => {
            const g = grid.find((x) => x.batch === batch && x.concurrency === c);
            return `${f0(g.docsPerSecond)} (${f2(g.ratio)})`;
          }),
        ]),
      },
    ],
    checks: [
      { claim: `defaults (${DEFAULT_BATCH} × ${DEFAULT_CONCURRENCY}) docs/s >= 0.9 × concurrency × batchSize / latency`, value: Number(f2(defRatio)), target: 0.9, pass: defRatio >= 0.9 },
      { claim: `batchSize ${DEFAULT_BATCH} × concurrency ${MAX_CONCURRENT} docs/s >= 0.9 × bound`, value: Number(f2(bestRatio)), target: 0.9, pass: bestRatio >= 0.9 },
      { claim: `defaults docs/s >= 0.9 × raw client that serializes inside the clock, same settings (median of within-round ratios)`, value: Number(f2(vsSerializing)), target: 0.9, pass: vsSerializing >= 0.9 },
      { claim: `defaults CPU µs/doc vs raw client that serializes inside the clock (ratio, user+sys of each case's process)`, value: Number(f2(def.cpuUsPerDoc / rawSerializing.cpuUsPerDoc)), target: '—', pass: true },
      { claim: `defaults docs/s >= 0.9 × raw limit (pre-serialized bodies) at the same settings`, value: Number(f2(def.docsPerSecond / rawDefault.docsPerSecond)), target: 0.9, pass: def.docsPerSecond >= 0.9 * rawDefault.docsPerSecond },
      { claim: `concurrency ${MAX_CONCURRENT} docs/s >= 0.9 × raw limit at the same settings`, value: Number(f2(concurrency8.docsPerSecond / rawBest.docsPerSecond)), target: 0.9, pass: concurrency8.docsPerSecond >= 0.9 * rawBest.docsPerSecond },
      { claim: `concurrency 'auto' docs/s >= 0.9 × best fixed setting (concurrency ${bestConcurrency})`, value: Number(f2(autoVsBest)), target: 0.9, pass: autoVsBest >= 0.9 },
      { claim: `defaults (${DEFAULT_BATCH} × ${DEFAULT_CONCURRENCY}) docs/s in the grid >= 0.9 × the grid's fastest at concurrency <= 4 (${pick.batch} × ${pick.concurrency})`, value: Number(f2(defaultCell.docsPerSecond / pick.docsPerSecond)), target: 0.9, pass: defaultCell.docsPerSecond >= 0.9 * pick.docsPerSecond },
      { claim: 'defaults docs/s vs naive baseline (ratio, higher is better)', value: Number(vsNaive.toFixed(1)), target: 10, pass: vsNaive >= 10 },
      { claim: `peak RSS on ${3 * N} documents <= 1.2 × on ${N} (memory bounded by options, not input)`, value: Number(f2(large.peakRssMb / def.peakRssMb)), target: 1.2, pass: large.peakRssMb <= 1.2 * def.peakRssMb },
      { claim: `peak RSS of any ${N}-document run (MB, up to 8 × ${DEFAULT_BATCH} documents in flight)`, value: Number(f0(peak)), target: 400, pass: peak < 400 },
    ],
    notes: [
      `Bound = concurrency × batchSize / (${LATENCY_MS} ms + ${PER_DOC_MS} ms × batchSize): what a client can reach if the latency model were the only cost.`,
      'CPU µs/doc = user+sys CPU of the case\'s own process (process.cpuUsage from before the first document is made to the last answer), over its documents; median of the runs. The emulator runs in another process and is not counted. CPU is the robust measure on a loaded machine; docs/s moves with the load.',
      'Raw client that serializes inside the clock = the same undici loops, but each batch\'s documents are made (documentAt, as the stream\'s input) and JSON.stringify\'d inside the clock: the least any client does at these settings.',
      'Raw limit = plain undici requests with bodies serialized before the clock starts, each answer JSON.parse\'d and dropped: what this machine and emulator allow any client; the gap to the bound is CPU (the emulator and the client share 2 cores with other work).',
      `Unordered vs ordered at the defaults: ${f2(unordered.docsPerSecond / def.docsPerSecond)}× (the latency model has no jitter, so batches finish in order anyway; ordered costs nothing here).`,
      `The naive baseline sends ${NAIVE_N.toLocaleString('en-US')} documents (at ~1 250 docs/s, 100 000 would take 80 s a run); docs/s is what it would sustain on any size.`,
      `The emulator answers 429 with Retry-After ${RETRY_AFTER_MS} ms above ${MAX_CONCURRENT} concurrent requests; 'auto' starts at 2, adds one per batch while latency is flat, halves on a 429 and then stays under the level that drew it.`,
      'Documents are ~450 B, drawn from 256 distinct texts so that the emulator (prediction cache) is not the bottleneck; the client still serializes and parses every one.',
      `Defaults: the grid's fastest cell at concurrency ≤ 4 (half the server's limit: a tenant is shared, and a 429 costs a Retry-After) is ${pick.batch} × ${pick.concurrency}; ${DEFAULT_BATCH} × ${DEFAULT_CONCURRENCY} reaches ${f2(defaultCell.docsPerSecond / pick.docsPerSecond)} of it with ${f2((DEFAULT_BATCH * DEFAULT_CONCURRENCY) / (pick.batch * pick.concurrency))} of its documents in flight (memory, and the cost of bisecting a refused batch). A previous full run (defaults then 1024 × 4) found 4096 × 4 fastest and 2048 × 4 within 10 % of it, which set the defaults to 2048 × 4.`,
      'Where the share of the bound falls (large batches, high concurrency) the client is CPU-bound: JSON.parse of ~840 B of answer per document, the output objects and GC, on 2 cores shared with the emulator (and other work); the raw-limit rows show how much of that any client would pay.',
    ],
  });
} finally {
  await emulator.close();
}

/** Run every case once, RUNS times over; per case, the run with the median docs/s (and all runs). */
async function interleaved(cases) {
  const runs = cases.map(() => []);
  for (let r = 0; r < RUNS; r++) for (const [i, run] of cases.entries()) runs[i].push(await run());
  return runs.map((list) => {
    const m = median(list.map((x) => x.docsPerSecond));
    const cpu = median(list.map((x) => x.cpuUsPerDoc));
    return { ...(list.find((x) => x.docsPerSecond === m) ?? list[0]), docsPerSecond: m, cpuUsPerDoc: cpu, runs: list.map((x) => x.docsPerSecond), all: list };
  });
}

function startEmulator() {
  return startServerProcess([join(here, 'emulator.mjs'), String(LATENCY_MS), String(PER_DOC_MS), String(MAX_CONCURRENT), String(RETRY_AFTER_MS)]);
}
