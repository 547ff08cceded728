/**
 * An OpenTelemetry SDK registered for one test, as an application would register it: a
 * BasicTracerProvider (`@opentelemetry/sdk-trace-base` 2.x, the line that runs on Node 20) writing to an in-memory exporter and a MeterProvider read on demand.
 * `unregister()` puts the globals back to the API's no-ops.
 */
import { context, metrics, trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** A reader that exports nothing by itself: the test collects when it wants to look. */
class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface TestTelemetry {
  spans(): ReadableSpan[];
  /** Read the metrics now (before `points()`). */
  collect(): Promise<void>;
  /** Every metric point of `name` in the last collection, with its attributes. */
  points(name: string): Array<DataPoint<number | Histogram>>;
  unregister(): Promise<void>;
}

/**
 * Register the SDK. `contextManager: true` also registers the AsyncLocalStorage context manager
 * (as the Node SDK does); without it, parenting rests on the contexts the library passes on.
 */
export function registerTelemetry(options: { contextManager?: boolean } = {}): TestTelemetry {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  if (options.contextManager) context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  let collected: MetricData[] = [];
  return {
    spans: () => exporter.getFinishedSpans(),
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      collected = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
    },
    points(name) {
      return collected.filter((metric) => metric.descriptor.name === name).flatMap((metric) => metric.dataPoints as Array<DataPoint<number | Histogram>>);
    },
    async unregister() {
      trace.disable();
      metrics.disable();
      context.disable();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** What {@link telemetryTests} gives a test file. */
export interface TelemetryTests {
  /** The file's emulator (fast Retry-After and import stages), started before its first test. */
  emulator(): Emulator;
  /** Register the SDK for this test; it is unregistered after the test. */
  register(options?: { contextManager?: boolean }): TestTelemetry;
}

/**
 * The setup the telemetry test files share: one emulator for the file, and after each test the SDK
 * unregistered (so the next test starts from the API's no-ops) and the emulator's faults reset.
 */
export function telemetryTests(): TelemetryTests {
  let emulator: Emulator | undefined;
  let telemetry: TestTelemetry | undefined;
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, records: 30, faults: { retryAfterMs: 5 }, safetykit: { queuedMs: 5, ingestingMs: 5 } });
  });
  afterAll(async () => {
    await emulator?.close();
  });
  afterEach(async () => {
    await telemetry?.unregister();
    telemetry = undefined;
    emulator?.setFaults({ retryAfterMs: 5 });
  });
  return {
    emulator() {
      if (emulator === undefined) throw new Error('the emulator starts in beforeAll');
      return emulator;
    },
    register(options) {
      telemetry = registerTelemetry(options);
      return telemetry;
    },
  };
}
