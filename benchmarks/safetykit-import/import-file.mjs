// importFile: the file itself streams into the PUT while every line is checked (no spool copy).
import { rmSync } from 'node:fs';
import { report } from '../lib.mjs';

// The build to measure: this tree's dist, or another's (a baseline built by lib.mjs baselineDist).
const [baseUrl, apiKey, file, partBytes, spoolDir, dist = new URL('../../dist', import.meta.url).pathname] = process.argv.slice(2);
const { importFile } = await import(`${dist}/safetykit/index.js`);
const { closeAgents } = await import(`${dist}/core/http.js`);
const stateFile = `${file}.bench-state-${process.pid}.json`;
const started = performance.now();
const summary = await importFile({ baseUrl, apiKey, namespace: 'bench', file, stateFile, spoolDir, wait: false, partBytes: partBytes === 'default' ? undefined : Number(partBytes) });
const seconds = (performance.now() - started) / 1000;
await closeAgents();
rmSync(stateFile, { force: true });
if (summary.objects <= 0 || summary.bytes <= 0) throw new Error('nothing imported');
const cpu = process.cpuUsage();
report({ seconds, cpuS: (cpu.user + cpu.system) / 1e6, mbps: summary.bytes / 1e6 / seconds, objects: summary.objects, parts: summary.requestIds.length });
