// JSON array vs JSONL, the same records in one run: parse only (parseJsonArray / parseJsonl /
// stream-json into a counter), and an ingest through the public API (parser → dataWriter → the
// emulator's SafetyKit add, emulator in another process). Files are generated into
// benchmarks/tmp/ and deleted afterwards. Full size: a 1 GiB array; --quick: 50 MiB.
import { mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT, printBenchmark, runCase, startEmulatorProcess } from '../lib.mjs';
import { generate } from './generate.mjs';

const quick = process.argv.includes('--quick');
const SIZE_MB = quick ? 50 : Number(process.env.JSON_ARRAY_MB ?? 1024);
/** stream-json reads ~5 MB/s: it gets a smaller file of the same records. */
const STREAM_JSON_MB = quick ? 10 : 50;
const RSS_LIMIT_MB = 200;

const here = new URL('.', import.meta.url).pathname;
const tmp = join(ROOT, 'benchmarks', 'tmp', 'json-array');
await mkdir(tmp, { recursive: true });
const files = { json: join(tmp, 'records.json'), jsonl: join(tmp, 'records.jsonl'), smallJson: join(tmp, 'small.json'), smallJsonl: join(tmp, 'small.jsonl') };
const rows = [];
const checks = [];
const fmt = (r) => [r.megabytes.toFixed(0), r.mbPerSecond.toFixed(1), Math.round(r.recordsPerSecond).toLocaleString('en-US'), r.seconds.toFixed(1), r.peakRssMb.toFixed(0)];
try {
  process.stderr.write(`generating ${SIZE_MB} MiB as a JSON array and as JSONL in ${tmp}\n`);
  const count = await generate(files.json, files.jsonl, SIZE_MB);
  await generate(files.smallJson, files.smallJsonl, STREAM_JSON_MB);
  const caseScript = join(here, 'case.mjs');

  const parseArray = await runCase(caseScript, ['json-array', files.json]);
  const parseJsonl = await runCase(caseScript, ['jsonl', files.jsonl]);
  rows.push(['parse only', 'parseJsonArray', ...fmt(parseArray)]);
  rows.push(['parse only', 'parseJsonl (same records as JSONL)', ...fmt(parseJsonl)]);
  // stream-json is only a point of comparison here (the library does not use it); skipped when absent.
  const hasStreamJson = (() => {
    try {
      createRequire(join(ROOT, 'package.json')).resolve('stream-json');
      return true;
    } catch {
      return false;
    }
  })();
  let smallArray;
  let streamJson;
  if (hasStreamJson) {
    smallArray = await runCase(caseScript, ['json-array', files.smallJson]);
    streamJson = await runCase(caseScript, ['stream-json', files.smallJson]);
    rows.push(['parse only', `parseJsonArray (${STREAM_JSON_MB} MiB file)`, ...fmt(smallArray)]);
    rows.push(['parse only', `stream-json parser({packValues, streamValues: false}) → streamArray (${STREAM_JSON_MB} MiB file)`, ...fmt(streamJson)]);
  }

  const emulator = await startEmulatorProcess();
  let ingestArray;
  let ingestJsonl;
  try {
    const key = emulator.env.SAFETYKIT_API_KEY;
    ingestArray = await runCase(caseScript, ['json-array', files.json, emulator.url, key]);
    ingestJsonl = await runCase(caseScript, ['jsonl', files.jsonl, emulator.url, key]);
  } finally {
    await emulator.close();
  }
  rows.push(['ingest: file → parser → dataWriter → emulator', 'parseJsonArray', ...fmt(ingestArray)]);
  rows.push(['ingest: file → parser → dataWriter → emulator', 'parseJsonl (same records as JSONL)', ...fmt(ingestJsonl)]);

  for (const [name, r] of [['parse', parseArray], ['ingest', ingestArray]]) {
    if (r.items !== count) throw new Error(`${name} of the JSON array saw ${r.items} of ${count} records`);
  }
  const ratio = (a, b) => Number((a.mbPerSecond / b.mbPerSecond).toFixed(2));
  checks.push({ claim: `JSON-array ingest of ${SIZE_MB} MiB: peak RSS < ${RSS_LIMIT_MB} MB`, value: ingestArray.peakRssMb, target: RSS_LIMIT_MB, pass: ingestArray.peakRssMb < RSS_LIMIT_MB });
  checks.push({ claim: 'JSON-array parse only: peak RSS < 200 MB', value: parseArray.peakRssMb, target: RSS_LIMIT_MB, pass: parseArray.peakRssMb < RSS_LIMIT_MB });
  checks.push({ claim: 'parseJsonArray MB/s ÷ parseJsonl MB/s (parse only), ≥ 0.8', value: ratio(parseArray, parseJsonl), target: 0.8, pass: ratio(parseArray, parseJsonl) >= 0.8 });
  checks.push({ claim: 'JSON-array ingest MB/s ÷ JSONL ingest MB/s, ≥ 0.8', value: ratio(ingestArray, ingestJsonl), target: 0.8, pass: ratio(ingestArray, ingestJsonl) >= 0.8 });
  if (hasStreamJson) checks.push({ claim: 'parseJsonArray ÷ stream-json MB/s (same small file), > 1', value: ratio(smallArray, streamJson), target: 1, pass: ratio(smallArray, streamJson) > 1 });

  printBenchmark({
    benchmark: 'json-array',
    title: `JSON array vs JSONL: ${SIZE_MB} MiB of the same ${count.toLocaleString('en-US')} records`,
    command: 'npm run bench -- json-array',
    tables: [{ title: 'One run per row, each in its own process (peak RSS is its own); emulator in another process', columns: ['case', 'parser', 'MB', 'MB/s', 'records/s', 'seconds', 'peak RSS MB'], rows }],
    checks,
    notes: [
      'Records are ~300 B listing-like objects with quotes, backslashes and non-ASCII text; the JSON array has one element per line, the JSONL file one record per line. Files are read in 64 KiB chunks (Node\'s default, as the CLI does).',
      'The ingest rows use dataWriter with its defaults (batches of 1000, 4 in flight); their peak RSS is mostly the writer\'s (the parse-only rows show the parsers\' own).',
      'parseJsonArray finds element boundaries itself (strings skipped with indexOf) and JSON.parses each element; stream-json tokenizes every character in JavaScript, which is why it is not used for this.',
      `The stream-json row reads a ${STREAM_JSON_MB} MiB file of the same records (the full file would take minutes); compare it with the parseJsonArray row on that same file.`,
    ],
  });
} finally {
  await rm(tmp, { recursive: true, force: true });
}
