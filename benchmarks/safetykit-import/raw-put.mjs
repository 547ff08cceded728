// The raw limit: ask for an upload URL, then PUT the file straight with undici (no checks, no spool).
import { createReadStream, statSync } from 'node:fs';
import { request } from 'undici';
import { report } from '../lib.mjs';

const [baseUrl, apiKey, file] = process.argv.slice(2);
const size = statSync(file).size;
const ticket = await (await request(`${baseUrl}/v1/data/bench/import`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` } })).body.json();
const started = performance.now();
const res = await request(ticket.upload_url, {
  method: 'PUT',
  headers: { 'content-length': String(size), 'content-type': 'application/json' },
  body: createReadStream(file, { highWaterMark: 1 << 20 }),
});
await res.body.text();
if (res.statusCode !== 200) throw new Error(`PUT answered ${res.statusCode}`);
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage();
report({ seconds, cpuS: (cpu.user + cpu.system) / 1e6, mbps: size / 1e6 / seconds });
