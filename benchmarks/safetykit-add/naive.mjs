// What the vendor SDK offers: collect 1000 objects, await one add, repeat (one request at a time).
import { request } from 'undici';
import { setFlagsFromString } from 'node:v8';
import { report } from '../lib.mjs';
import { listings } from './objects.mjs';

// Diagnostic (index.mjs): keep undici's WebAssembly parser, compiled at the first connection, on V8's baseline compiler.
if (process.env.SAFETYKIT_ADD_LIFTOFF_ONLY === '1') setFlagsFromString('--liftoff-only');
const [baseUrl, apiKey, count] = process.argv.slice(2);
const started = performance.now();
let batch = [];
let requests = 0;
const send = async () => {
  const res = await request(`${baseUrl}/v1/data/bench`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ data: batch }),
  });
  const answer = await res.body.json();
  if (res.statusCode !== 200) throw new Error(`add answered ${res.statusCode}: ${JSON.stringify(answer)}`);
  requests++;
  batch = [];
};
for (const object of listings(Number(count))) {
  batch.push(object);
  if (batch.length === 1000) await send();
}
if (batch.length > 0) await send();
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage();
report({ seconds, cpuS: (cpu.user + cpu.system) / 1e6, perSecond: Number(count) / seconds, requests });
