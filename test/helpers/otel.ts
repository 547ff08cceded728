/**
 * An OpenTelemetry SDK registered for one test, as an application would register it: a
 * TracerProvider (`@opentelemetry/sdk-trace`, the 3.x name of `BasicTracerProvider`) writing to an in-memory exporter and a MeterProvider read on demand.
 * `unregister()` puts the globals back to the API's no-ops.
 */
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';

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
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
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
