// Resumable predict (predictInto) into JSONL and into PostgreSQL against today's non-resumable
// `predict --out` (stdin in, the predict stream → stringifyJsonl → the file), all through the
// CLI's `predict` at its defaults (batchSize 2048, concurrency 4, ordered), on the same generated
// JSONL input of 100 000 and 300 000 documents. The emulator (the reinfer-predict latency model)
// and a throwaway PostgreSQL cluster run in their own processes, each case in its own process
// (peak RSS is the case's own); cases are interleaved round by round and ratios are taken within
// each round, so load from other work on the shared machine falls on every case alike.
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, printBenchmark, runCase, startServerProcess, ROOT } from '../lib.mjs';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 1 : 3;
const SMALL = quick ? 10_000 : 100_000;
const BIG = 3 * SMALL;
// The reinfer-predict benchmark's latency model: 100 ms + 0.02 ms per document, 8 concurrent.
const EMULATOR = ['100', '0.02', '8', '100'];
const here = join(ROOT, 'benchmarks', 'predict-into');
const CASE = join(here, 'case.mjs');
const NAMES = {
  stdin: '(a) non-resumable: predict --in - (stdin) --out FILE.jsonl',
  jsonl: '(b) resumable predictInto: predict --in FILE --out FILE.jsonl',
  postgres: '(c) resumable predictInto: predict --in FILE --to postgres://… --table T',
};

const loadBefore = loadavg();
const dir = await mkdtemp(join(tmpdir(), 'predict-into-bench-'));
const emulator = await startServerProcess([join(ROOT, 'benchmarks', 'reinfer-predict', 'emulator.mjs'), ...EMULATOR]);
const postgres = await startServerProcess([join(ROOT, 'benchmarks', 'destinations', 'postgres-server.mjs')]);
const env = { REINFER_ENDPOINT: emulator.url, REINFER_TOKEN: emulator.env.REINFER_TOKEN };

/** One run of `mode` on `n` documents; its output is removed afterwards (tables get fresh names). */
let tables = 0;
async function run(mode, n) {
  const input = join(dir, `in-${n}.jsonl`);
  const out = join(dir, `out-${mode}.jsonl`);
  const target = mode === 'postgres' ? [postgres.url, `predictions_${n}_${++tables}`] : [out];
  try {
    return await runCase(CASE, [mode, input, ...target], env);
  } finally {
    await rm(out, { force: true });
    await rm(`${out}.state.json`, { force: true });
  }
}

/** RUNS rounds of every case on `n` documents, interleaved; per case the medians and each round's. */
async function rounds(n) {
  const results = Object.fromEntries(Object.keys(NAMES).map((mode) => [mode, []]));
  for (let round = 0; round < RUNS; round++) {
    for (const mode of Object.keys(NAMES)) {
      const result = await run(mode, n);
      if (result.predicted !== n) throw new Error(`${mode}: predicted ${result.predicted} of ${n}`);
      results[mode].push(result);
      process.stderr.write(`  ${mode} ${n}: ${Math.round(result.docsPerSecond)} docs/s, ${result.peakRssMb} MB\n`);
    }
  }
  const base = results.stdin;
  return Object.fromEntries(
    Object.entries(results).map(([mode, all]) => [
      mode,
      {
        n,
        docsPerSecond: median(all.map((r) => r.docsPerSecond)),
        // Within-round ratios to (a): each pair ran back to back under the same load.
        ratio: median(all.map((r, i) => r.docsPerSecond / base[i].docsPerSecond)),
        peakRssMb: median(all.map((r) => r.peakRssMb)),
        runs: all.map((r) => Math.round(r.docsPerSecond)),
      },
    ]),
  );
}

let small, big;
const started = Date.now();
try {
  for (const n of [SMALL, BIG]) await runCase(join(here, 'generate.mjs'), [join(dir, `in-${n}.jsonl`), String(n)]).catch(() => undefined);
  // Warm-up (not measured): the emulator's prediction cache and the input file in the page cache.
  await run('stdin', SMALL);
  small = await rounds(SMALL);
  big = await rounds(BIG);
} finally {
  await emulator.close();
  await postgres.close();
  await rm(dir, { recursive: true, force: true });
}
const loadAfter = loadavg();

const count = (n) => n.toLocaleString('en-US');
const f2 = (x) => Number(x.toFixed(2));
const growth = (mode) => Number((((big[mode].peakRssMb - small[mode].peakRssMb) / small[mode].peakRssMb) * 100).toFixed(1));
const row = (mode, r) => [NAMES[mode], count(r.n), count(Math.round(r.docsPerSecond)), mode === 'stdin' ? '1' : r.ratio.toFixed(2), r.peakRssMb.toFixed(1), r.runs.map(count).join(' / ')];
const speedCheck = (mode, r, label) => ({ claim: `${label} docs/s >= 0.9 × (a) at ${count(r.n)} documents (median of within-round ratios)`, value: f2(r.ratio), target: 0.9, pass: r.ratio >= 0.9 });
const rssCheck = (mode, label) => ({ claim: `${label} peak RSS from ${count(SMALL)} to ${count(BIG)} documents: growth within 20 % (bounded by the options)`, value: growth(mode), target: 20, pass: Math.abs(growth(mode)) <= 20 });
const load = (l) => l.map((x) => x.toFixed(2)).join(' / ');

printBenchmark({
  benchmark: 'predict-into',
  title: `Resumable predict (predictInto) into JSONL and PostgreSQL vs non-resumable predict --out, ${count(SMALL)} and ${count(BIG)} documents, defaults`,
  command: 'npm run bench -- predict-into',
  tables: [
    {
      title: `The CLI's predict at its defaults (batchSize 2048, concurrency 4, ordered); median of ${RUNS} interleaved rounds, each case in its own process`,
      columns: ['case', 'documents', 'docs/s', 'docs/s ÷ (a), same round', 'peak RSS MB', 'runs (docs/s)'],
      rows: [...Object.entries(small).map(([m, r]) => row(m, r)), ...Object.entries(big).map(([m, r]) => row(m, r))],
    },
    {
      title: `Peak RSS growth from ${count(SMALL)} to ${count(BIG)} documents`,
      columns: ['case', `peak RSS MB at ${count(SMALL)}`, `at ${count(BIG)}`, 'growth'],
      rows: Object.keys(NAMES).map((m) => [NAMES[m], small[m].peakRssMb.toFixed(1), big[m].peakRssMb.toFixed(1), `${growth(m)} %`]),
    },
  ],
  checks: [
    speedCheck('jsonl', small.jsonl, '(b) predictInto → JSONL'),
    speedCheck('jsonl', big.jsonl, '(b) predictInto → JSONL'),
    speedCheck('postgres', small.postgres, '(c) predictInto → PostgreSQL'),
    speedCheck('postgres', big.postgres, '(c) predictInto → PostgreSQL'),
    rssCheck('jsonl', '(b) predictInto → JSONL'),
    rssCheck('postgres', '(c) predictInto → PostgreSQL'),
  ],
  notes: [
    `Load average (1 / 5 / 15 min) at the start ${load(loadBefore)}, at the end ${load(loadAfter)} on ${cpus().length} shared cores: other work ran alongside, so absolute docs/s vary; the ratios come from cases run back to back in the same round.`,
    `Every case runs \`inference-streams predict\` in-process (main(), so the peak RSS is the command's) on the same JSONL file of ~400 B documents (the reinfer-predict documents with an id); (a) gets the file on stdin, which is today's non-resumable path (the predict stream → stringifyJsonl → the file); (b) and (c) get it as --in FILE, which runs predictInto. (a) and (b) write byte-identical files.`,
    '(b) commits each page of 2048 predictions with its input position: the file and its state file are fsynced. (c) COPYs each page (binary) and upserts the position in the same transaction (PostgreSQL 15 in its own process, fsync on).',
    `Emulator in its own process with the reinfer-predict latency model: 100 ms + 0.02 ms per document per request, 8 concurrent requests at most (429 above). One unmeasured warm-up run of (a) on ${count(SMALL)} documents first.`,
    `Took ${Math.round((Date.now() - started) / 1000)} s of measuring; every output is deleted after its run.`,
  ],
});
