// The cost of a worker's Prometheus endpoint (`worker --metrics-port`), and the choice of library.
//
// 1. A queued export (BullMQ on a real redis-server, into a real PostgreSQL, the emulator with no
//    latency so that the worker is CPU-bound) run by one worker process without and with
//    --metrics-port, interleaved; the endpoint is scraped every second during the export (a
//    Prometheus default is every 15 s). Measured: records/s from enqueue to completed, the
//    worker's CPU time per 1000 records (/proc/PID/stat), and the scrape latency.
// 2. The exporters side by side in this process, with the same series (3 destinations, 12
//    request series with their duration histograms, worker jobs): OpenTelemetry's
//    sdk-metrics + exporter-prometheus (what the worker uses: the instruments are OpenTelemetry's
//    already) against prom-client 15 (which would need a bridge from the OpenTelemetry API; its
//    own `inc`/`observe` are the lower bound of that bridge's cost). prom-client is not a
//    dependency: `npm install --no-save prom-client@15` before the run to include it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT, median, printBenchmark, startEmulatorProcess, startServerProcess } from '../lib.mjs';
import { startRedis, startWorker } from '../queue-lib.mjs';

const quick = process.argv.includes('--quick');
const RECORDS = quick ? 60_000 : 200_000;
const BATCH = 5000;
const PARTITIONS = 4;
const RUNS = quick ? 1 : 5;
/** Scrapes one after another on the idle worker after an export, to measure the worker CPU of one. */
const IDLE_SCRAPES = quick ? 50 : 300;
const { enqueueExport, exportStatus, serveMetrics } = await import(join(ROOT, 'dist', 'index.js'));

// ---- 1. A worker export without and with --metrics-port -------------------------------------
const emulator = await startEmulatorProcess(['--records', String(RECORDS)]);
const postgres = await startServerProcess([join(ROOT, 'benchmarks', 'destinations', 'postgres-server.mjs')]);
const redis = await startRedis();
const startTime = Date.UTC(2024, 0, 1);
const endTime = startTime + Math.ceil(RECORDS / 3) * 1000;
const env = { INNERWORKS_API_KEY: emulator.env.INNERWORKS_API_KEY, INNERWORKS_BASE_URL: emulator.url };

async function runCase(name, run) {
  const metrics = name === 'with --metrics-port';
  const worker = startWorker(redis.url, env, ['--concurrency', '2', ...(metrics ? ['--metrics-port', '0'] : [])]);
  await worker.ready;
  const url = /serving metrics at (\S+) /.exec(worker.stderr())?.[1];
  if (metrics && !url) throw new Error(`no metrics URL in: ${worker.stderr()}`);
  const scrapes = [];
  let scraping;
  const cpu0 = worker.cpuSeconds();
  const t0 = performance.now();
  const { exportId } = await enqueueExport({ queue: redis.url, startTime, endTime, partitions: PARTITIONS, to: postgres.url, table: `metrics_${metrics ? 'on' : 'off'}_${run}`, batchSize: BATCH });
  if (url) {
    scraping = setInterval(async () => {
      const s0 = performance.now();
      const text = await (await fetch(url)).text();
      scrapes.push({ ms: performance.now() - s0, bytes: Buffer.byteLength(text) });
    }, 1000);
  }
  let status;
  for (;;) {
    status = await exportStatus({ queue: redis.url, exportId });
    if (status.state === 'completed' || status.state === 'failed') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(scraping);
  const cpuSeconds = worker.cpuSeconds() - cpu0;
  let last;
  let cpuMsPerScrape;
  if (url) {
    last = await (await fetch(url)).text();
    cpuMsPerScrape = await scrapeCpuMs(worker, url);
  }
  await worker.stop();
  if (status.state !== 'completed' || status.records !== RECORDS) throw new Error(`export ${status.state} with ${status.records} records`);
  if (last && !last.includes(`inference_streams_records_total{inference_streams_destination="postgres"`)) throw new Error('the records metric is missing from /metrics');
  const result = { seconds, recordsPerSec: RECORDS / seconds, cpuMsPer1000: (cpuSeconds * 1e6) / RECORDS, scrapes, cpuMsPerScrape };
  process.stderr.write(`  ${name}: ${Math.round(result.recordsPerSec)} records/s, worker CPU ${result.cpuMsPer1000.toFixed(1)} ms / 1000 records${url ? `, ${scrapes.length} scrapes` : ''}\n`);
  return result;
}

/**
 * The worker CPU of one scrape of its full /metrics (after an export: every series there): the
 * idle worker's CPU over IDLE_SCRAPES scrapes in a row, less its CPU over as long a time without.
 */
async function scrapeCpuMs(worker, url) {
  const idle0 = worker.cpuSeconds();
  const t0 = performance.now();
  for (let i = 0; i < IDLE_SCRAPES; i++) await (await fetch(url)).text();
  const wall = performance.now() - t0;
  const scraping = worker.cpuSeconds() - idle0;
  const rest0 = worker.cpuSeconds();
  await new Promise((resolve) => setTimeout(resolve, wall));
  const resting = worker.cpuSeconds() - rest0;
  return (Math.max(0, scraping - resting) * 1000) / IDLE_SCRAPES;
}

const loadAtStart = loadavg()[0];
const CASES = ['without --metrics-port', 'with --metrics-port'];
const results = Object.fromEntries(CASES.map((name) => [name, []]));
try {
  for (let run = 0; run < RUNS; run++) {
    for (const name of run % 2 ? [...CASES].reverse() : CASES) results[name].push(await runCase(name, run));
  }
} finally {
  await Promise.allSettled([redis.close(), postgres.close(), emulator.close()]);
}
const summary = (name) => {
  const runs = results[name];
  const scrapes = runs.flatMap((r) => r.scrapes);
  return {
    recordsPerSec: median(runs.map((r) => r.recordsPerSec)),
    cpuMsPer1000: median(runs.map((r) => r.cpuMsPer1000)),
    runs: runs.map((r) => Math.round(r.recordsPerSec)),
    scrapeMs: scrapes.length ? median(scrapes.map((s) => s.ms)) : undefined,
    scrapeMaxMs: scrapes.length ? Math.max(...scrapes.map((s) => s.ms)) : undefined,
    scrapeBytes: scrapes.length ? Math.max(...scrapes.map((s) => s.bytes)) : undefined,
    scrapeCount: scrapes.length,
    cpuMsPerScrape: runs[0].cpuMsPerScrape === undefined ? undefined : median(runs.map((r) => r.cpuMsPerScrape)),
  };
};
const off = summary(CASES[0]);
const on = summary(CASES[1]);
const rateRatio = Number((on.recordsPerSec / off.recordsPerSec).toFixed(3));
const cpuRatio = Number((on.cpuMsPer1000 / off.cpuMsPer1000).toFixed(3));
// A page's worker CPU, and the share of one core a scrape every 15 s (Prometheus's usual interval) takes.
const cpuMsPerPage = (off.cpuMsPer1000 * BATCH) / 1000;
const scrapeShareAt15s = on.cpuMsPerScrape / 15_000;

// ---- 2. The exporters side by side --------------------------------------------------------------
const ADDS = quick ? 200_000 : 1_000_000;
const SCRAPES = quick ? 50 : 200;
const DESTINATIONS = ['postgres', 'jsonl', 'stdout'];
const ENDPOINTS = ['GET /api/v1/innerworks/inference/batch', 'POST /v1/data/{namespace}/add', 'POST /v1/data/{namespace}/import', 'PUT {upload_url}', 'GET /v1/data/{namespace}/requests/{id}', 'POST /api/v1/datasets/{owner}/{dataset}/labellers/{version}/predict'];
const STATUSES = [200, 503];

/** ns per call of `fn(i)`, over `count` calls. */
function nsPerCall(count, fn) {
  for (let i = 0; i < 10_000; i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / count;
}

async function msPerScrape(scrape) {
  for (let i = 0; i < 10; i++) await scrape();
  const times = [];
  for (let i = 0; i < SCRAPES; i++) {
    const t0 = performance.now();
    await scrape();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function openTelemetryRoute() {
  const { instruments, ATTR } = await import(join(ROOT, 'dist', 'core', 'telemetry.js'));
  const endpoint = await serveMetrics({ port: 0 });
  try {
    const m = instruments();
    const destinations = DESTINATIONS.map((destination) => ({ [ATTR.destination]: destination }));
    const requests = ENDPOINTS.flatMap((endpoint) => STATUSES.map((status) => ({ [ATTR.vendor]: 'innerworks', [ATTR.endpoint]: endpoint, [ATTR.httpStatus]: status })));
    const page = nsPerCall(ADDS, (i) => {
      const attributes = destinations[i % destinations.length];
      m.records.add(BATCH, attributes);
      m.pages.add(1, attributes);
    });
    const request = nsPerCall(ADDS, (i) => {
      const attributes = requests[i % requests.length];
      m.requests.add(1, attributes);
      m.requestDuration.record(0.05, attributes);
    });
    m.workerJobs.add(1, { [ATTR.jobKind]: 'export', [ATTR.jobOutcome]: 'completed' });
    m.workerPaused.record(0);
    const text = await (await fetch(endpoint.url)).text();
    const scrape = await msPerScrape(async () => (await fetch(endpoint.url)).text());
    return { page, request, scrape, bytes: Buffer.byteLength(text) };
  } finally {
    await endpoint.close();
  }
}

async function promClientRoute() {
  let client;
  try {
    client = createRequire(join(ROOT, 'package.json'))('prom-client');
  } catch {
    return undefined;
  }
  const { createServer } = await import('node:http');
  const registry = new client.Registry();
  const records = new client.Counter({ name: 'inference_streams_records_total', help: 'Records written, by destination', labelNames: ['inference_streams_destination'], registers: [registry] });
  const pages = new client.Counter({ name: 'inference_streams_pages_total', help: 'Pages written, by destination', labelNames: ['inference_streams_destination'], registers: [registry] });
  const labels = ['inference_streams_vendor', 'inference_streams_endpoint', 'http_response_status_code'];
  const requestsTotal = new client.Counter({ name: 'inference_streams_requests_total', help: 'HTTP requests', labelNames: labels, registers: [registry] });
  // The OpenTelemetry SDK's default histogram buckets, for the same output.
  const buckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
  const duration = new client.Histogram({ name: 'inference_streams_request_duration_seconds', help: 'HTTP request duration', labelNames: labels, buckets, registers: [registry] });
  const jobs = new client.Counter({ name: 'inference_streams_worker_jobs_total', help: 'Jobs', labelNames: ['inference_streams_job_kind', 'inference_streams_job_outcome'], registers: [registry] });
  const paused = new client.Gauge({ name: 'inference_streams_worker_paused', help: 'Paused', registers: [registry] });
  const destinations = DESTINATIONS.map((destination) => ({ inference_streams_destination: destination }));
  const requests = ENDPOINTS.flatMap((endpoint) => STATUSES.map((status) => ({ inference_streams_vendor: 'innerworks', inference_streams_endpoint: endpoint, http_response_status_code: status })));
  const page = nsPerCall(ADDS, (i) => {
    const attributes = destinations[i % destinations.length];
    records.inc(attributes, BATCH);
    pages.inc(attributes, 1);
  });
  const request = nsPerCall(ADDS, (i) => {
    const attributes = requests[i % requests.length];
    requestsTotal.inc(attributes, 1);
    duration.observe(attributes, 0.05);
  });
  jobs.inc({ inference_streams_job_kind: 'export', inference_streams_job_outcome: 'completed' });
  paused.set(0);
  const server = createServer(async (_req, res) => {
    res.setHeader('content-type', registry.contentType);
    res.end(await registry.metrics());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/metrics`;
  try {
    const text = await (await fetch(url)).text();
    const scrape = await msPerScrape(async () => (await fetch(url)).text());
    return { page, request, scrape, bytes: Buffer.byteLength(text) };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

const otel = await openTelemetryRoute();
const prom = await promClientRoute();
const exporterRow = (name, r) => [name, r.page.toFixed(0), r.request.toFixed(0), r.scrape.toFixed(2), r.bytes.toLocaleString('en-US')];
const versionOf = (name) => JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
const otelVersion = versionOf('@opentelemetry/exporter-prometheus');

const fmt = (n) => Math.round(n).toLocaleString('en-US');
printBenchmark({
  benchmark: 'worker-metrics',
  title: `A worker's Prometheus endpoint: cost on a queued export of ${RECORDS.toLocaleString('en-US')} records into PostgreSQL, and the exporter libraries`,
  command: 'npm install --no-save prom-client@15 && npm run bench -- worker-metrics',
  tables: [
    {
      title: `One worker process (--concurrency 2), ${PARTITIONS} partitions of ${BATCH}-record pages, emulator without latency; /metrics scraped every second during the export`,
      columns: ['case', 'records/s', 'worker CPU ms / 1000 records', 'scrape ms (median / max)', 'runs (records/s)'],
      rows: [
        [CASES[0], fmt(off.recordsPerSec), off.cpuMsPer1000.toFixed(1), '—', off.runs.join(' / ')],
        [CASES[1], fmt(on.recordsPerSec), on.cpuMsPer1000.toFixed(1), `${on.scrapeMs.toFixed(2)} / ${on.scrapeMaxMs.toFixed(1)} (${on.scrapeCount} scrapes, ${on.scrapeBytes} B)`, on.runs.join(' / ')],
        ['one scrape of the idle worker after the export', '—', `${on.cpuMsPerScrape.toFixed(2)} ms worker CPU a scrape`, `(median of ${IDLE_SCRAPES} in a row, less the idle CPU)`, '—'],
      ],
    },
    {
      title: `The exporters in one process, the same series (${DESTINATIONS.length} destinations, ${ENDPOINTS.length * STATUSES.length} request series with duration histograms); ${ADDS.toLocaleString('en-US')} calls each, ${SCRAPES} scrapes over loopback`,
      columns: ['route', 'ns a page (records + pages add)', 'ns a request (counter + histogram)', 'scrape ms (median)', 'scrape bytes'],
      rows: [exporterRow(`OpenTelemetry sdk-metrics + exporter-prometheus ${otelVersion} (chosen)`, otel), ...(prom ? [exporterRow(`prom-client ${versionOf('prom-client')} (direct calls: the lower bound of a bridge)`, prom)] : [])],
    },
  ],
  checks: [
    { claim: 'records/s with --metrics-port >= 0.95 x without (end to end, scraped every second)', value: rateRatio, target: 0.95, pass: rateRatio >= 0.95 },
    { claim: 'worker CPU a record with --metrics-port <= 1.05 x without (end to end, scraped every second)', value: cpuRatio, target: 1.05, pass: cpuRatio <= 1.05 },
    { claim: "the metrics of a page (records + pages add) <= 0.1 % of a page's worker CPU", value: `${((otel.page / 1e6 / cpuMsPerPage) * 100).toFixed(4)} %`, target: '0.1 %', pass: otel.page / 1e6 / cpuMsPerPage <= 0.001 },
    { claim: 'a scrape every 15 s <= 0.1 % of one core', value: `${(scrapeShareAt15s * 100).toFixed(4)} %`, target: '0.1 %', pass: scrapeShareAt15s <= 0.001 },
  ],
  notes: [
    `Medians of ${RUNS} runs a case, cases interleaved (order alternating) in one run; worker CPU is user + system time of the worker process from enqueue to completed.`,
    `The worker, Redis, PostgreSQL (fsync on) and the emulator share the 2 cores, with other work on the machine (load average ${loadAtStart.toFixed(0)} at the start of the export runs, ${loadavg()[0].toFixed(0)} at their end): compare the rows, not the absolute numbers.`,
    'Metrics are counted once a page (5000 records) and once a job, never a record. The end-to-end rows swing by more than the cost measured (runs of one case differ by up to 2x on this loaded machine), so the decisive checks are the last two: the cost of the counter adds of a page (the exporter table, in ns) against the worker CPU of a page (end-to-end table), and the worker CPU of a scrape measured alone.',
    'Scrape latency during the export is the wait for the busy worker\'s event loop (it serialises the scrape between page commits), not the serialisation itself; Prometheus\'s default scrape timeout is 10 s.',
    prom ? 'prom-client was installed for the run only (npm install --no-save); it is not a dependency.' : 'prom-client was not installed for this run: npm install --no-save prom-client@15 to compare.',
  ],
});
