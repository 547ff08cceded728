/**
 * `inference-streams/emulator`: a local server of the Innerworks, SafetyKit and Reinfer APIs
 * with fault injection. The demo, the tests and the benchmarks all run against it.
 */
import { innerworksRoutes, type InnerworksControl, type InnerworksEmulatorOptions } from './innerworks.js';
import { reinferRoutes, type ReinferControl, type ReinferEmulatorOptions } from './reinfer.js';
import { safetykitRoutes, type SafetykitControl, type SafetykitEmulatorOptions } from './safetykit.js';
import { startServer } from './server.js';
import type { FaultKind, FaultOptions, RouteStats } from './types.js';

export type { FaultKind, FaultOptions, RouteStats, ScriptedFault } from './types.js';
export { FAULT_KINDS } from './types.js';
export { parseFaultSpec } from './faults.js';
export type { InnerworksControl, InnerworksEmulatorOptions } from './innerworks.js';
export type { SafetykitControl, SafetykitEmulatorOptions } from './safetykit.js';
export type { ReinferControl, ReinferEmulatorOptions } from './reinfer.js';

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Seed of every generated value; the same seed gives the same data. Default 1. */
  seed?: number;
  /** Added before every answer of every API, in ms. Default 0. */
  latencyMs?: number;
  /** Random or scripted faults for every API. Default none. */
  faults?: FaultOptions;
  /** Shorthand for `innerworks.records`. */
  records?: number;
  innerworks?: InnerworksEmulatorOptions;
  safetykit?: SafetykitEmulatorOptions;
  reinfer?: ReinferEmulatorOptions;
}

/** A running emulator. */
export interface Emulator {
  /** Base URL of all three APIs, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  /** The environment a client needs to use this emulator (base URLs and accepted credentials). */
  env: Record<string, string>;
  /** Per-route counters: requests, max concurrent, faults injected, bytes. */
  stats(): Record<string, RouteStats>;
  resetStats(): void;
  /** Make the next `count` requests on `route` (a name such as `reinfer.predict`, or a prefix such as `safetykit`) fail with `kind`. */
  injectFault(kind: FaultKind, options?: { route?: string; count?: number }): void;
  /** Replace the random/scripted fault plan (`undefined` turns it off). */
  setFaults(faults: FaultOptions | undefined): void;
  innerworks: InnerworksControl;
  safetykit: SafetykitControl;
  reinfer: ReinferControl;
  /** Stop listening and drop every connection. */
  close(): Promise<void>;
}

/** Credentials the emulator accepts by default (any non-empty value is accepted unless restricted). */
export const EMULATOR_CREDENTIALS = Object.freeze({
  INNERWORKS_API_KEY: 'emulator-innerworks-key',
  SAFETYKIT_API_KEY: 'emulator-safetykit-key',
  REINFER_TOKEN: 'emulator-reinfer-token',
});

/** Start an emulator of all three APIs on one port. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const seed = options.seed ?? 1;
  const server = await startServer({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    seed,
    latencyMs: options.latencyMs ?? 0,
    faults: options.faults,
  });
  const innerworks = innerworksRoutes({ records: options.records, ...options.innerworks }, server.context);
  const safetykit = safetykitRoutes(options.safetykit ?? {}, server.context);
  const reinfer = reinferRoutes(options.reinfer ?? {}, server.context);
  server.addRoutes([...innerworks.routes, ...safetykit.routes, ...reinfer.routes]);
  return {
    url: server.url,
    port: server.port,
    env: {
      INNERWORKS_BASE_URL: server.url,
      SAFETYKIT_BASE_URL: server.url,
      REINFER_ENDPOINT: server.url,
      // When the credentials are restricted, the env names one that is accepted.
      INNERWORKS_API_KEY: options.innerworks?.apiKeys?.[0] ?? EMULATOR_CREDENTIALS.INNERWORKS_API_KEY,
      SAFETYKIT_API_KEY: options.safetykit?.apiKeys?.[0] ?? EMULATOR_CREDENTIALS.SAFETYKIT_API_KEY,
      REINFER_TOKEN: options.reinfer?.tokens?.[0] ?? EMULATOR_CREDENTIALS.REINFER_TOKEN,
    },
    stats: server.stats,
    resetStats: server.resetStats,
    injectFault: (kind, opts) => server.faults.inject(kind, opts?.route, opts?.count ?? 1),
    setFaults: (faults) => server.faults.configure(faults, seed),
    innerworks: innerworks.control,
    safetykit: safetykit.control,
    reinfer: reinfer.control,
    close: server.close,
  };
}
