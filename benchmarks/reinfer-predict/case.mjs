// One benchmark case in its own process (so its peak RSS is its own):
//   node case.mjs <url> <token> <n> stream <batchSize> <concurrency|auto> <ordered|unordered>
//   node case.mjs <url> <token> <n> naive <batchSize>
//   node case.mjs <url> <token> <n> raw <batchSize> <concurrency>
//   node case.mjs <url> <token> <n> raw-serializing <batchSize> <concurrency>
// `naive` is the vendor CLI's way: one batch at a time, sequential, plain requests.
// `raw` is the machine's limit: <concurrency> loops of plain undici requests whose bodies were
// serialized before the clock started, each answer read and JSON.parse'd, nothing else.
// `raw-serializing` is what any client must do at least: the same loops, but each batch's
// documents are made (as the stream's input is) and JSON.stringify'd inside the clock.
// Every case reports its own CPU time (user+sys of this process, from before the first
// document is made to the end): the emulator runs in another process and is not counted.
// BENCH_DIST=<dir> runs `stream` against another build (e.g. one of an older commit).
import { resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { report } from '../lib.mjs';
import { documentAt, documents } from './documents.mjs';

const dist = process.env.BENCH_DIST ? pathToFileURL(resolve(process.env.BENCH_DIST)).href : new URL('../../dist', import.meta.url).href;
const { closeAgents, predictDocuments } = await import(`${dist}/index.js`);

const [url, token, nArg, mode, batchArg, concurrencyArg, orderArg] = process.argv.slice(2);
const n = Number(nArg);
const batchSize = Number(batchArg);
const url_ = `${url}/api/v1/datasets/bench/docs/labellers/live/predict`;
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const wireBatch = (offset) => {
  const batch = [];
  for (let i = offset; i < Math.min(n, offset + batchSize); i++) {
    const { messages, timestamp, user_properties } = documentAt(i);
    batch.push({ messages, timestamp, user_properties });
  }
  return batch;
};
const bodies = mode === 'raw' ? Array.from({ length: Math.ceil(n / batchSize) }, (_, k) => JSON.stringify({ documents: wireBatch(k * batchSize) })) : [];
// Time in garbage collection (the profile's largest single entry), reported next to the CPU.
let gcMs = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
});
gcObserver.observe({ entryTypes: ['gc'] });
const cpuBefore = process.cpuUsage();
const started = performance.now();
let result;

if (mode === 'raw' || mode === 'raw-serializing') {
  const batches = Math.ceil(n / batchSize);
  let next = 0;
  let predicted = 0;
  await Promise.all(
    Array.from({ length: Number(concurrencyArg) }, async () => {
      while (next < batches) {
        const k = next++;
        const requestBody = mode === 'raw' ? bodies[k] : JSON.stringify({ documents: wireBatch(k * batchSize) });
        const res = await request(url_, { method: 'POST', headers, body: requestBody });
        const answer = JSON.parse(await res.body.text());
        if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${answer.message}`);
        predicted += answer.predictions.length;
      }
    }),
  );
  result = { predicted, requests: batches, retries: 0, concurrency: Number(concurrencyArg) };
} else if (mode === 'naive') {
  let predicted = 0;
  for (let offset = 0; offset < n; offset += batchSize) {
    const res = await request(url_, { method: 'POST', headers, body: JSON.stringify({ documents: wireBatch(offset) }) });
    const body = await res.body.json();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${body.message}`);
    predicted += body.predictions.length;
  }
  result = { predicted, requests: Math.ceil(n / batchSize), retries: 0, concurrency: 1 };
} else {
  const stream = predictDocuments({
    endpoint: url,
    token,
    project: 'bench',
    dataset: 'docs',
    batchSize,
    concurrency: concurrencyArg === 'auto' ? 'auto' : Number(concurrencyArg),
    ordered: orderArg !== 'unordered',
    retry: { maxRetries: 50 },
  });
  const levels = [];
  stream.on('progress', (s) => levels.push(s.concurrency));
  let predicted = 0;
  await pipeline(
    documents(n),
    stream,
    new Writable({
      objectMode: true,
      highWaterMark: 1024,
      write(output, _encoding, callback) {
        if (output.labels) predicted++;
        callback();
      },
    }),
  );
  const s = stream.stats;
  const meanLevel = levels.length ? levels.reduce((a, b) => a + b, 0) / levels.length : s.concurrency;
  result = { predicted, requests: s.requests, retries: s.retries, concurrency: Number(meanLevel.toFixed(1)) };
}
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
gcObserver.disconnect();
if (result.predicted !== n) throw new Error(`predicted ${result.predicted} of ${n}`);
await closeAgents();
const cpuUsPerDoc = (cpu.user + cpu.system) / n;
report({ ...result, n, seconds, docsPerSecond: n / seconds, cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, cpuUsPerDoc, gcMs });
