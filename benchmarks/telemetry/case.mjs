// One case of the telemetry benchmark in its own process:
//   node case.mjs <distDir> <none|sdk> export  <baseUrl> <records>
//   node case.mjs <distDir> <none|sdk> predict <baseUrl> <documents>
// `sdk` registers what an application exporting its telemetry would (before the library is
// loaded): a TracerProvider (@opentelemetry/sdk-trace) with a BatchSpanProcessor, the AsyncLocalStorage context
// manager, and a MeterProvider with a PeriodicExportingMetricReader (every second); both
// exporters drop what they get, after counting it, so the cost measured is the library's and
// the SDK's, not a collector's. `none` registers nothing (the API's no-ops).
// export: exportInferenceResults into a fresh JSONL file (default page size, key from
// INNERWORKS_API_KEY). predict: predictDocuments with its defaults (token from REINFER_TOKEN).
// Prints one JSON line (report()): records/s by the wall clock and per CPU-second of this process.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { TracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { report } from '../lib.mjs';
import { documents } from '../reinfer-predict/documents.mjs';

const [distDir, sdkMode, mode, baseUrl, countText] = process.argv.slice(2);
const count = Number(countText);
const exported = { spans: 0, metricPoints: 0 };

let shutdown = async () => {};
if (sdkMode === 'sdk') {
  const spanExporter = {
    export(spans, done) {
      exported.spans += spans.length;
      done({ code: 0 });
    },
    async shutdown() {},
  };
  const metricExporter = {
    export(resourceMetrics, done) {
      for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) exported.metricPoints += metric.dataPoints.length;
      done({ code: 0 });
    },
    selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
    async forceFlush() {},
    async shutdown() {},
  };
  const tracerProvider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: spanExporter })] });
  const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 1000 })] });
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  shutdown = async () => {
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  };
} else if (sdkMode !== 'none') {
  throw new Error(`unknown SDK mode ${sdkMode}`);
}

const { closeAgents, exportInferenceResults, predictDocuments } = await import(pathToFileURL(join(distDir, 'index.js')).href);

/** Wall clock and this process's CPU time from now; `rates(records)` per second of each. */
function start() {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return {
    rates(records) {
      const used = process.cpuUsage(cpu);
      return { records, recordsPerSec: records / ((performance.now() - wall) / 1000), recordsPerCpuSec: records / ((used.user + used.system) / 1e6) };
    },
  };
}

let result;
if (mode === 'export') {
  const dir = await mkdtemp(join(tmpdir(), 'bench-telemetry-'));
  try {
    const clock = start();
    const summary = await exportInferenceResults({ file: join(dir, 'out.jsonl'), apiKey: process.env.INNERWORKS_API_KEY, baseUrl });
    if (summary.records !== count) throw new Error(`export: ${summary.records} records, expected ${count}`);
    result = clock.rates(summary.records);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
} else if (mode === 'predict') {
  const clock = start();
  let predicted = 0;
  await pipeline(
    documents(count),
    predictDocuments({ endpoint: baseUrl, token: process.env.REINFER_TOKEN, project: 'bench', dataset: 'docs', retry: { maxRetries: 50 } }),
    new Writable({
      objectMode: true,
      highWaterMark: 1024,
      write(output, _encoding, callback) {
        if (output.labels) predicted++;
        callback();
      },
    }),
  );
  if (predicted !== count) throw new Error(`predict: ${predicted} predictions, expected ${count}`);
  result = clock.rates(predicted);
} else {
  throw new Error(`unknown mode ${mode}`);
}
await shutdown();
await closeAgents();
report({ ...result, ...exported });
