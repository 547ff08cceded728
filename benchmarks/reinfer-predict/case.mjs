// One benchmark case in its own process (so its peak RSS is its own):
//   node case.mjs <url> <token> <n> stream <batchSize> <concurrency|auto> <ordered|unordered>
//   node case.mjs <url> <token> <n> naive <batchSize>
// `naive` is the vendor CLI's way: one batch at a time, sequential, plain requests.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { closeAgents, predictDocuments } from '../../dist/index.js';
import { report } from '../lib.mjs';
import { documentAt, documents } from './documents.mjs';

const [url, token, nArg, mode, batchArg, concurrencyArg, orderArg] = process.argv.slice(2);
const n = Number(nArg);
const batchSize = Number(batchArg);
const started = performance.now();
let result;

if (mode === 'naive') {
  let predicted = 0;
  for (let offset = 0; offset < n; offset += batchSize) {
    const batch = [];
    for (let i = offset; i < Math.min(n, offset + batchSize); i++) {
      const { messages, timestamp, user_properties } = documentAt(i);
      batch.push({ messages, timestamp, user_properties });
    }
    const res = await request(`${url}/api/v1/datasets/bench/docs/labellers/live/predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ documents: batch }),
    });
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
if (result.predicted !== n) throw new Error(`predicted ${result.predicted} of ${n}`);
await closeAgents();
report({ ...result, n, seconds, docsPerSecond: n / seconds });
