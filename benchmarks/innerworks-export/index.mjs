// Innerworks export: this library's exportInferenceResults (a) against a naive fetch loop (b)
// and the client-side raw limit (c), on loopback and with 50 ms of emulator latency per page;
// and time partitions 4 vs 1. The emulator runs in its own process, each case in its own
// process (peak RSS is the case's own). Cases are interleaved round by round so that load from
// other processes on the machine falls on every case alike; the table shows medians.
import { join } from 'node:path';
import { interleavedRounds, printBenchmark, ROOT } from '../lib.mjs';

const quick = process.argv.includes('--quick');
const RUNS = 3;
const BATCH = 5000;
const BIG = quick ? 100_000 : 1_000_000;
const SMALL = quick ? 20_000 : 100_000;
const LATENT = quick ? 50_000 : 200_000;
const LATENCY_MS = 50;
const CASE = join(ROOT, 'benchmarks', 'innerworks-export', 'case.mjs');
// The emulator's layout: records from 2024-01-01 in groups of 3 per second (see src/emulator/innerworks.ts).
const BASE_TIME = Date.UTC(2024, 0, 1);
const endTimeOf = (records) => BASE_TIME + Math.ceil(records / 3) * 1000;

/** Each named case RUNS times, interleaved; returns {name: medians}. */
const rounds = (emulatorArgs, records, cases) =>
  interleavedRounds({
    records,
    emulatorArgs,
    runs: RUNS,
    cases: Object.fromEntries(Object.entries(cases).map(([name, args]) => [name, (url) => [CASE, [args[0], url, String(records), String(BATCH), ...args.slice(1)]]])),
  });

const loopback = await rounds([], BIG, { '(a) exportInferenceResults': ['export'], '(b) naive fetch loop': ['naive'], '(c) raw limit': ['raw'] });
const small = await rounds([], SMALL, { '(a) exportInferenceResults': ['export'] });
const latent = await rounds(['--latency-ms', String(LATENCY_MS)], LATENT, {
  '(a) exportInferenceResults': ['export'],
  '(b) naive fetch loop': ['naive'],
  '(a) partitions: 1': ['export', '1', String(BASE_TIME), String(endTimeOf(LATENT))],
  '(a) partitions: 4': ['export', '4', String(BASE_TIME), String(endTimeOf(LATENT))],
});

// Where latency dominates (a farther vendor region), partitions scale further: see the note.
const far = quick
  ? {}
  : await rounds(['--latency-ms', '200'], LATENT, {
      '(a) partitions: 1, 200 ms latency': ['export', '1', String(BASE_TIME), String(endTimeOf(LATENT))],
      '(a) partitions: 4, 200 ms latency': ['export', '4', String(BASE_TIME), String(endTimeOf(LATENT))],
    });

const row = (name, r) => [name, r.records.toLocaleString('en-US'), Math.round(r.recordsPerSec).toLocaleString('en-US'), r.mbPerSec.toFixed(1), r.peakRssMb.toFixed(1), r.runs.join(' / ')];
const columns = ['case', 'records', 'records/s', 'MB/s (JSONL)', 'peak RSS MB', 'runs (records/s)'];
const a = loopback['(a) exportInferenceResults'];
const c = loopback['(c) raw limit'];
const aSmall = small['(a) exportInferenceResults'];
const aLatent = latent['(a) exportInferenceResults'];
const bLatent = latent['(b) naive fetch loop'];
const p1 = latent['(a) partitions: 1'];
const p4 = latent['(a) partitions: 4'];
const ratio = (x, y) => Number((x / y).toFixed(2));
const rssSpread = Math.abs(a.peakRssMb - aSmall.peakRssMb) / aSmall.peakRssMb;

printBenchmark({
  benchmark: 'innerworks-export',
  title: `Innerworks export, ${BIG.toLocaleString('en-US')} records, ${BATCH}-record pages`,
  command: 'npm run bench -- innerworks-export',
  tables: [
    { title: 'Loopback, no added latency', columns, rows: [...Object.entries(loopback).map(([n, r]) => row(n, r)), ...Object.entries(small).map(([n, r]) => row(n, r))] },
    { title: `Emulator answering each page after ${LATENCY_MS} ms`, columns, rows: Object.entries(latent).map(([n, r]) => row(n, r)) },
    ...(quick ? [] : [{ title: 'Emulator answering each page after 200 ms', columns, rows: Object.entries(far).map(([n, r]) => row(n, r)) }]),
  ],
  checks: [
    { claim: '(a) >= 0.85 x (c) records/s, loopback', value: ratio(a.recordsPerSec, c.recordsPerSec), target: 0.85, pass: a.recordsPerSec >= 0.85 * c.recordsPerSec },
    { claim: `(a) peak RSS < 150 MB at ${BIG.toLocaleString('en-US')} records`, value: a.peakRssMb, target: 150, pass: a.peakRssMb < 150 },
    { claim: `(a) peak RSS within 20 % between ${SMALL.toLocaleString('en-US')} and ${BIG.toLocaleString('en-US')} records`, value: Number((rssSpread * 100).toFixed(1)), target: 20, pass: rssSpread <= 0.2 },
    { claim: `(a) >= 1.3 x (b) with ${LATENCY_MS} ms latency`, value: ratio(aLatent.recordsPerSec, bLatent.recordsPerSec), target: 1.3, pass: aLatent.recordsPerSec >= 1.3 * bLatent.recordsPerSec },
    { claim: `partitions: 4 >= 3 x partitions: 1 with ${LATENCY_MS} ms latency`, value: ratio(p4.recordsPerSec, p1.recordsPerSec), target: 3, pass: p4.recordsPerSec >= 3 * p1.recordsPerSec },
  ],
  notes: [
    `Medians of ${RUNS} runs, cases interleaved; each case in its own process, the emulator in another (2 shared cores: the emulator and the client compete for CPU).`,
    '(a) appends each page, fsyncs it and saves the resume state durably (3 fsyncs a page); (b) and (c) never fsync.',
    `(a) reads the checkpoint from the end of each body and asks for the next page before parsing this one, so with latency the round trip overlaps JSON.parse, stringify and the file writes.`,
    `The latency runs use ${LATENT.toLocaleString('en-US')} records (${Math.ceil(LATENT / BATCH)} pages) to keep the run short; the ratio does not depend on the count.`,
    'MB/s counts the JSONL bytes written (or, for (c), that would be written).',
    'Partitions share one main thread (per 5000-record page, profiled: ~10 ms JSON.parse + ~9 ms JSON.stringify) and, here, the 2 cores with the emulator: at 50 ms of latency the CPU, not the round trip, bounds 4 partitions; where latency dominates they scale (200 ms table).',
    `Peak RSS is V8 heap sizing with up to 2 pages of 5000 parsed results alive (one being written while the next is parsed and the one after downloads); (c), which holds one page, peaked at ${c.peakRssMb.toFixed(0)} MB in the same runs.`,
  ],
});
