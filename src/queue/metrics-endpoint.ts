/**
 * A Prometheus endpoint for the metrics this library records through `@opentelemetry/api`
 * (src/core/telemetry.ts): `GET /metrics` in the Prometheus text format, 404 for anything else.
 *
 * Made of OpenTelemetry's own pieces, `@opentelemetry/sdk-metrics` (a MeterProvider registered
 * globally) with `@opentelemetry/exporter-prometheus` as its reader: the instruments already are
 * OpenTelemetry instruments, so nothing has to be bridged, and the measured cost is nil next to a
 * page's work (benchmarks/worker-metrics). Both are optional peer dependencies, loaded on first
 * use. Our own HTTP server answers (the exporter's handler serialises), so the host, a port in
 * use and the 404 are ours to say.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics } from '@opentelemetry/api';
import { ConfigError } from '../core/errors.js';
import { integerOption, stringOption } from '../core/options.js';
import { importOptional } from '../destinations/optional.js';

/** Options of {@link serveMetrics}. */
export interface MetricsEndpointOptions {
  /** TCP port, 0..65535 (0: any free port; the `url` says which). Required. */
  port: number;
  /**
   * Address to listen on. Default `127.0.0.1`: the endpoint has no authentication, so it is
   * reachable from other machines only when widened on purpose (e.g. `0.0.0.0`).
   */
  host?: string;
}

/** A running endpoint. */
export interface MetricsEndpoint {
  /** `http://HOST:PORT/metrics`. */
  readonly url: string;
  /** Stop serving, and unregister the MeterProvider it registered. */
  close(): Promise<void>;
}

/** Default of `MetricsEndpointOptions.host`. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

interface MetricsLibraries {
  MeterProvider: typeof import('@opentelemetry/sdk-metrics').MeterProvider;
  PrometheusExporter: typeof import('@opentelemetry/exporter-prometheus').PrometheusExporter;
}

const PACKAGES = '@opentelemetry/sdk-metrics @opentelemetry/exporter-prometheus';

/** How the caller calls the port and host options, for errors. */
interface OptionNames {
  port: string;
  host: string;
}

/** Check the options as `names` calls them (e.g. `metricsPort`), before anything is started. */
export function checkMetricsOptions(port: unknown, host: unknown, names: OptionNames = { port: 'port', host: 'host' }): { port: number; host: string } {
  if (port === undefined) throw new ConfigError(names.port, 'is required: an integer from 0 to 65535');
  return { port: integerOption(names.port, port, 0, 0, 65_535), host: stringOption(names.host, host) ?? DEFAULT_METRICS_HOST };
}

/**
 * Serve this process's metrics on `GET http://HOST:PORT/metrics` in the Prometheus text format:
 * registers a MeterProvider (from `@opentelemetry/sdk-metrics`) with a Prometheus reader as the
 * global one, so that the library's instruments record into it.
 *
 * When the application has already registered its own global MeterProvider, the library's
 * metrics go there and this endpoint would stay empty: it refuses with a ConfigError instead.
 * Such an application adds `new PrometheusExporter()` to its own provider's `readers`.
 *
 * Throws a ConfigError naming `port` when it is in use (or not allowed), `host` when it is not an
 * address of this machine, or naming the packages to install when they are missing.
 */
export function serveMetrics(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object', options);
  return openMetricsEndpoint(checkMetricsOptions(options.port, options.host), { port: 'port', host: 'host' });
}

/** {@link serveMetrics} with checked options, its errors naming the options as `names` says (a worker's `metricsPort`). */
export async function openMetricsEndpoint({ port, host }: { port: number; host: string }, names: OptionNames): Promise<MetricsEndpoint> {
  const { MeterProvider, PrometheusExporter } = await importOptional<MetricsLibraries>(PACKAGES, names.port, 'the Prometheus endpoint', async () => ({
    MeterProvider: (await import('@opentelemetry/sdk-metrics')).MeterProvider,
    PrometheusExporter: (await import('@opentelemetry/exporter-prometheus')).PrometheusExporter,
  }));
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  if (!metrics.setGlobalMeterProvider(provider)) {
    await provider.shutdown();
    throw new ConfigError(names.port, 'cannot be served: this process already registered a global MeterProvider, which the metrics go to; add a PrometheusExporter (@opentelemetry/exporter-prometheus) to its readers instead');
  }
  const server = createServer((request, response) => answer(request, response, exporter));
  try {
    await listen(server, port, host, names);
  } catch (error) {
    metrics.disable();
    await provider.shutdown();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown}:${address.port}/metrics`,
    close() {
      closing ??= (async () => {
        // A scraper's keep-alive connection must not hold the close up.
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        if (metrics.getMeterProvider() === provider) metrics.disable();
        await provider.shutdown();
      })();
      return closing;
    },
  };
}

function answer(request: IncomingMessage, response: ServerResponse, exporter: InstanceType<MetricsLibraries['PrometheusExporter']>): void {
  const path = (request.url ?? '/').split('?')[0];
  if (path === '/metrics' && (request.method === 'GET' || request.method === 'HEAD')) return exporter.getMetricsRequestHandler(request, response);
  response.statusCode = 404;
  response.setHeader('content-type', 'text/plain; charset=utf-8');
  response.end('Not found: the metrics are at GET /metrics\n');
}

function listen(server: Server, port: number, host: string, names: OptionNames): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new ConfigError(names.port, `is in use on ${host}: port ${port} is taken by another process; choose another (0: any free port)`, port));
      else if (error.code === 'EACCES') reject(new ConfigError(names.port, `may not be opened by this user on ${host} (ports below 1024 need privileges); choose another`, port));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') reject(new ConfigError(names.host, `is not an address of this machine (${error.code})`, host));
      else reject(error);
    });
    server.listen(port, host, () => resolve());
  });
}
