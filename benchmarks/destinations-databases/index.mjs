// Database destinations: exportInferenceResults into DuckDB and PostgreSQL against the JSONL
// export in the same run (1,000,000 records, loopback), and PostgreSQL's COPY against a
// 1000-row multi-row INSERT loop into the same table shape. The emulator and a throwaway
// PostgreSQL cluster run in their own processes, each case in its own process (peak RSS is the
// case's own; the DuckDB case's DuckDB runs in a host process of its own, whose peak RSS is shown
// beside it); cases are interleaved round by round and the table shows medians.
//
// BENCH_DUCKDB_ONLY=1 node benchmarks/destinations-databases/index.mjs runs only the JSONL and
// DuckDB export cases (1,000,000 and 100,000 records) and prints their rows to stderr, writing no
// result: a quick check while working on the DuckDB destination.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { median, printBenchmark, runCase, startEmulatorProcess, startServerProcess, ROOT } from '../lib.mjs';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 1 : 2;
const BATCH = 5000;
const BIG = quick ? 100_000 : 1_000_000;
const SMALL = quick ? 20_000 : 100_000;
const INSERTED = quick ? 20_000 : 200_000;
const DB_CASE = join(ROOT, 'benchmarks', 'destinations', 'database-case.mjs');
const JSONL_CASE = join(ROOT, 'benchmarks', 'innerworks-export', 'case.mjs');

const DUCKDB_ONLY = process.env.BENCH_DUCKDB_ONLY === '1';

const loadAtStart = loadavg();
const postgres = DUCKDB_ONLY ? undefined : await startServerProcess([join(ROOT, 'benchmarks', 'destinations', 'postgres-server.mjs')]);

/** Run each case RUNS times against an emulator of `records`, interleaved; {name: median}. */
async function rounds(records, cases, runs = RUNS) {
  const emulator = await startEmulatorProcess(['--records', String(records)]);
  const env = { INNERWORKS_API_KEY: emulator.env.INNERWORKS_API_KEY };
  const results = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  try {
    for (let run = 0; run < runs; run++) {
      for (const [name, [script, args]] of Object.entries(cases)) {
        const result = await runCase(script, args(emulator.url), env);
        results[name].push(result);
        process.stderr.write(`  ${name}: ${Math.round(result.recordsPerSec)} records/s, ${result.peakRssMb} MB${result.hostPeakRssMb > 0 ? ` (DuckDB host ${result.hostPeakRssMb} MB)` : ''}\n`);
      }
    }
  } finally {
    await emulator.close();
  }
  return Object.fromEntries(
    Object.entries(results).map(([name, runs]) => [
      name,
      {
        records: runs[0].records,
        recordsPerSec: median(runs.map((r) => r.recordsPerSec)),
        peakRssMb: median(runs.map((r) => r.peakRssMb)),
        hostPeakRssMb: median(runs.map((r) => r.hostPeakRssMb ?? 0)),
        cpuMs: median(runs.map((r) => r.cpuMs ?? 0)),
        hostCpuMs: median(runs.map((r) => r.hostCpuMs ?? 0)),
        runs: runs.map((r) => Math.round(r.recordsPerSec)),
        all: runs,
      },
    ]),
  );
}

const exportCases = (records) => ({
  'JSONL export': [JSONL_CASE, (url) => ['export', url, String(records), String(BATCH)]],
  'DuckDB export (staged CSV, host process)': [DB_CASE, (url) => ['duckdb-export', url, String(records), String(BATCH)]],
  ...(DUCKDB_ONLY ? {} : { 'PostgreSQL export (COPY)': [DB_CASE, (url) => ['postgres-export', url, String(records), String(BATCH), postgres.url]] }),
});
if (DUCKDB_ONLY) {
  const duckOnly = { ...(await rounds(BIG, exportCases(BIG))), ...Object.fromEntries(Object.entries(await rounds(SMALL, exportCases(SMALL))).map(([name, r]) => [`${name}, ${SMALL}`, r])) };
  for (const [name, r] of Object.entries(duckOnly)) {
    process.stderr.write(`${name}: ${Math.round(r.recordsPerSec)} records/s (runs ${r.runs.join(' / ')}), peak RSS ${r.peakRssMb} MB${r.hostPeakRssMb > 0 ? `, DuckDB host ${r.hostPeakRssMb} MB` : ''}, CPU ${r.cpuMs} ms${r.hostCpuMs > 0 ? ` + host ${r.hostCpuMs} ms` : ''}\n`);
  }
  const jsonl = duckOnly['JSONL export'];
  const duck = duckOnly['DuckDB export (staged CSV, host process)'];
  process.stderr.write(`DuckDB / JSONL records/s: ${(duck.recordsPerSec / jsonl.recordsPerSec).toFixed(2)}; load average ${loadAtStart.map((l) => l.toFixed(2)).join(' / ')} -> ${loadavg().map((l) => l.toFixed(2)).join(' / ')}\n`);
  process.exit(0);
}
let big, small, load;
try {
  big = await rounds(BIG, exportCases(BIG));
  small = await rounds(SMALL, exportCases(SMALL));
  load = await rounds(1, {
    'PostgreSQL load: COPY (the destination)': [DB_CASE, () => ['postgres-copy', String(BIG), postgres.url]],
    'PostgreSQL load: 1000-row INSERT loop': [DB_CASE, () => ['postgres-insert', String(INSERTED), postgres.url]],
  }, RUNS + 1);
} finally {
  await postgres?.close();
}

const row = (name, r) => [name, r.records.toLocaleString('en-US'), Math.round(r.recordsPerSec).toLocaleString('en-US'), r.peakRssMb.toFixed(1), r.hostPeakRssMb > 0 ? r.hostPeakRssMb.toFixed(1) : '—', r.runs.join(' / ')];
const columns = ['case', 'records', 'records/s', 'peak RSS MB (exporting process)', 'peak RSS MB (DuckDB host process)', 'runs (records/s)'];
const ratio = (x, y) => Number((x / y).toFixed(2));
const jsonl = big['JSONL export'];
const duck = big['DuckDB export (staged CSV, host process)'];
const pg = big['PostgreSQL export (COPY)'];
const copy = load['PostgreSQL load: COPY (the destination)'];
const insert = load['PostgreSQL load: 1000-row INSERT loop'];
// COPY and INSERT run in turn within each round: the ratio of each round, and the worst.
const roundRatios = copy.all.map((run, i) => run.recordsPerSec / insert.all[i].recordsPerSec);
const worstRatio = Math.min(...roundRatios);
const loadAtEnd = loadavg();
const spread = (name) => Number(((Math.abs(big[name].peakRssMb - small[name].peakRssMb) / small[name].peakRssMb) * 100).toFixed(1));

printBenchmark({
  benchmark: 'destinations-databases',
  title: `Database destinations, ${BIG.toLocaleString('en-US')} records, ${BATCH}-record pages`,
  command: 'npm run bench -- destinations-databases',
  tables: [
    { title: 'exportInferenceResults from the emulator (loopback), by destination', columns, rows: [...Object.entries(big).map(([n, r]) => row(n, r)), ...Object.entries(small).map(([n, r]) => row(n, r))] },
    { title: 'PostgreSQL load alone (records parsed before the clock starts), 5000-record transactions with the checkpoint', columns, rows: Object.entries(load).map(([n, r]) => row(n, r)) },
  ],
  checks: [
    { claim: 'DuckDB export >= 0.5 x JSONL export records/s', value: ratio(duck.recordsPerSec, jsonl.recordsPerSec), target: 0.5, pass: duck.recordsPerSec >= 0.5 * jsonl.recordsPerSec },
    { claim: 'PostgreSQL COPY >= 5 x 1000-row multi-row INSERT loop (medians)', value: ratio(copy.recordsPerSec, insert.recordsPerSec), target: 5, pass: copy.recordsPerSec >= 5 * insert.recordsPerSec },
    { claim: `PostgreSQL COPY >= 5 x 1000-row INSERT loop in every round (worst of ${roundRatios.length}; rounds: ${roundRatios.map((r) => r.toFixed(2)).join(' / ')})`, value: Number(worstRatio.toFixed(2)), target: 5, pass: worstRatio >= 5 },
    { claim: `DuckDB export peak RSS < 250 MB at ${BIG.toLocaleString('en-US')} (the exporting process; its DuckDB host process: ${duck.hostPeakRssMb.toFixed(1)} MB)`, value: Number(duck.peakRssMb.toFixed(1)), target: 250, pass: duck.peakRssMb < 250 },
    { claim: `PostgreSQL export peak RSS < 250 MB at ${BIG.toLocaleString('en-US')}`, value: Number(pg.peakRssMb.toFixed(1)), target: 250, pass: pg.peakRssMb < 250 },
    { claim: `DuckDB export peak RSS within 20 % from ${SMALL.toLocaleString('en-US')} to ${BIG.toLocaleString('en-US')}`, value: spread('DuckDB export (staged CSV, host process)'), target: 20, pass: spread('DuckDB export (staged CSV, host process)') <= 20 },
    { claim: `PostgreSQL export peak RSS within 20 % from ${SMALL.toLocaleString('en-US')} to ${BIG.toLocaleString('en-US')}`, value: spread('PostgreSQL export (COPY)'), target: 20, pass: spread('PostgreSQL export (COPY)') <= 20 },
  ],
  notes: [
    `Medians of ${RUNS} runs (the load rows: ${RUNS + 1}), cases interleaved; each case in its own process, the emulator and PostgreSQL 15 in others (2 shared cores: they compete for CPU).`,
    'Each export commits every page with its position: JSONL fsyncs the file and its state file; DuckDB stages the page as CSV rows beside the database and, in one transaction, inserts them with DuckDB\'s CSV reader and upserts the checkpoint; PostgreSQL COPYs the page (binary format) and upserts the checkpoint in one transaction (fsync on, default durability).',
    `Where the DuckDB export\'s memory went: DuckDB runs in a host process the export starts (src/destinations/duckdb-host.ts), so the exporting process\'s peak RSS (${duck.peakRssMb.toFixed(1)} MB at ${BIG.toLocaleString('en-US')}) no longer holds DuckDB\'s library (~34 MB once loaded), its instance (~20 MB) and its working memory; the host peaked at ${duck.hostPeakRssMb.toFixed(1)} MB (${small['DuckDB export (staged CSV, host process)'].hostPeakRssMb.toFixed(1)} MB at ${SMALL.toLocaleString('en-US')}). Together they use more memory than one process did (~290-300 MB before): the target is the exporting process\'s, and the host is reported beside it.`,
    `Load average (1 / 5 / 15 min) at the start ${loadAtStart.map((l) => l.toFixed(2)).join(' / ')}, at the end ${loadAtEnd.map((l) => l.toFixed(2)).join(' / ')} on 2 cores shared with other work: absolute rates vary with it; peak RSS and the ratios of the same round much less.`,
    'Against the build before (DuckDB in the exporting process, the appender), one round each at 1,000,000 records on 2026-12-02, load 3-6: in process 22,734 records/s, peak RSS 286 MB, CPU 29.0 s; with the host 24,061 records/s, exporting process 178 MB + host 167 MB, CPU 17.9 s + 13.4 s in the host (JSONL 84,287 records/s, 129 MB, 6.9 s): the memory left the exporting process, the speed stayed (0.27x vs 0.29x JSONL), the total CPU rose ~7 % (two processes, IPC).',
    'What bounds the DuckDB export (profiled at 300,000 records, load ~7): the exporting process was idle 43 % of its time (waiting for the host\'s commit or the next page), GC 11 %, JSON.parse of pages 7 %, undici body handling 13 %, the CSV staging of rows ~8 %; the host spent per row ~3 us in read_csv INSERT, ~1 us in the position upsert and ~5 us in COMMIT (WAL and checkpoints), against ~6 us per row for the appender it replaced (a N-API call per value). A page is encoded and committed only after the previous page\'s commit (the page loop\'s exactly-once order), so the two processes overlap only the next page\'s fetch and parse. Since that profile the DuckDB export takes each page as the JSON lines the JSONL export writes and makes its staged CSV from their bytes (csv-lines.ts, as Parquet does): no JSON.parse of pages, no record objects; the exporting process peaks at about the JSONL export\'s RSS and the export runs ~0.35x JSONL\'s records/s on a quiet machine (was 0.27-0.29x): the host\'s commit of each page, not overlapped with the reading of the next, now bounds it.',
    `The load rows compare the database path alone: the same 10 parsed pages written in turn, COPY through the destination vs 1000-row parameterized INSERTs in the same transactions; the INSERT loop ran ${INSERTED.toLocaleString('en-US')} records (its rate does not depend on the count).`,
  ],
});
