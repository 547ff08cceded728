// importWriter (the path of stdin and object streams): read the file, check every line, spool, POST /import, PUT the spool file.
import { createReadStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { importWriter } from '../../dist/safetykit/index.js';
import { closeAgents } from '../../dist/core/http.js';
import { report } from '../lib.mjs';

const [baseUrl, apiKey, file, partBytes, spoolDir] = process.argv.slice(2);
const size = statSync(file).size;
const started = performance.now();
const writer = importWriter({ baseUrl, apiKey, namespace: 'bench', wait: false, spoolDir, partBytes: partBytes === 'default' ? undefined : Number(partBytes) });
await pipeline(createReadStream(file), writer);
const seconds = (performance.now() - started) / 1000;
await closeAgents();
if (writer.summary.objects <= 0) throw new Error('nothing imported');
const cpu = process.cpuUsage();
report({ seconds, cpuS: (cpu.user + cpu.system) / 1e6, mbps: size / 1e6 / seconds, objects: writer.summary.objects, parts: writer.summary.requestIds.length });
