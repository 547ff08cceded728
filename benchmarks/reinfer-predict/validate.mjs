// Per-document cost of the client's checks of the published Reinfer limits, in process (not a
// benchmark of its own: `npm run bench` runs index.mjs only). Prints ns per document for
// checkDocument on this benchmark's documents, next to JSON.stringify of the same document (the
// serialization every sent document costs anyway), interleaved over several rounds:
//   node benchmarks/reinfer-predict/validate.mjs [other-dist-dir]
// With another build's dist/ directory (e.g. a checkout of an older commit), its checkDocument
// is measured in the same rounds, for a before/after ratio on the same machine state.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { documentAt } from './documents.mjs';

const ROUNDS = 7;
const N = 200_000;
const docs = Array.from({ length: 4096 }, (_, i) => {
  const { messages, timestamp, user_properties } = documentAt(i);
  return { messages, timestamp, user_properties };
});

const load = async (dist) => (await import(pathToFileURL(resolve(dist, 'reinfer/validate-documents.js')).href)).checkDocument;
const cases = { current: await load(new URL('../../dist', import.meta.url).pathname) };
if (process.argv[2]) cases.other = await load(process.argv[2]);
cases.stringify = (doc) => (JSON.stringify(doc).length > 0 ? undefined : 'empty');

for (const [name, check] of Object.entries(cases)) {
  if (check(docs[0]) !== undefined) throw new Error(`${name} refuses a valid document: ${check(docs[0])}`);
}
const times = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, check] of Object.entries(cases)) {
    let problems = 0;
    const started = process.hrtime.bigint();
    for (let i = 0; i < N; i++) if (check(docs[i & 4095]) !== undefined) problems++;
    const ns = Number(process.hrtime.bigint() - started) / N;
    if (problems !== 0) throw new Error(`${name}: ${problems} problems`);
    if (round > 0) times[name].push(ns); // round 0 warms the JIT
  }
}
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const result = Object.fromEntries(Object.entries(times).map(([name, list]) => [name, Number(median(list).toFixed(0))]));
process.stdout.write(`${JSON.stringify({ nsPerDocument: result, documentBytes: JSON.stringify(docs[0]).length, rounds: ROUNDS - 1, perRound: N })}\n`);
