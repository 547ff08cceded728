// dataWriter: N generated objects piped into batched adds with bounded concurrency.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dataWriter, closeAgents } from '../../dist/index.js';
import { setFlagsFromString } from 'node:v8';
import { report } from '../lib.mjs';
import { listings } from './objects.mjs';

// Diagnostic (index.mjs): keep undici's WebAssembly parser, compiled at the first connection, on V8's baseline compiler.
if (process.env.SAFETYKIT_ADD_LIFTOFF_ONLY === '1') setFlagsFromString('--liftoff-only');
const [baseUrl, apiKey, count, concurrency] = process.argv.slice(2);
const started = performance.now();
const writer = dataWriter({ baseUrl, apiKey, namespace: 'bench', concurrency: Number(concurrency) });
await pipeline(Readable.from(listings(Number(count))), writer);
const seconds = (performance.now() - started) / 1000;
await closeAgents();
if (writer.summary.objects !== Number(count)) throw new Error(`sent ${writer.summary.objects} of ${count}`);
const cpu = process.cpuUsage();
report({ seconds, cpuS: (cpu.user + cpu.system) / 1e6, perSecond: Number(count) / seconds, requests: writer.summary.requestIds.length });
