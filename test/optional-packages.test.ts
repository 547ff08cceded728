/**
 * Each optional peer dependency, when it is not installed, stops the command before it starts with
 * a ConfigError naming the option that needs it and the `npm install` command — run as a user
 * would (the built CLI in its own process), the packages hidden from Node's resolver by a loader
 * hook (test/fixtures/hide-packages.mjs) instead of uninstalled.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnCli } from './helpers/spawn-cli.js';
import { tempDir } from './helpers/temp-dir.js';

const HIDE = fileURLToPath(new URL('./fixtures/hide-packages.mjs', import.meta.url));
const dir = tempDir('optional-packages-');

/** Runs the CLI with `packages` unresolvable; resolves with its exit code, stdout and stderr. */
async function withoutPackages(packages: string[], args: string[]) {
  const cli = spawnCli(args, { NODE_OPTIONS: `--import ${HIDE}`, HIDE_PACKAGES: packages.join(','), INNERWORKS_API_KEY: 'k-optional-packages' });
  const [code] = await cli.exited;
  return { code, out: cli.out(), err: cli.err() };
}

describe('a missing optional package', () => {
  it('Parquet output names --format and `npm install @duckdb/node-api`', async () => {
    const { code, out, err } = await withoutPackages(['@duckdb/node-api'], ['export', '--emulator', '--out', join(dir(), 'x.parquet')]);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain('Invalid --format: needs the optional package @duckdb/node-api for Parquet output: run `npm install @duckdb/node-api`');
  });

  it('a DuckDB table names --to and `npm install @duckdb/node-api`', async () => {
    const { code, err } = await withoutPackages(['@duckdb/node-api'], ['export', '--emulator', '--to', `duckdb:${join(dir(), 'x.duckdb')}`, '--table', 't']);
    expect(code).toBe(2);
    expect(err).toContain('Invalid --to: needs the optional package @duckdb/node-api for the DuckDB destination');
    expect(err).toContain('run `npm install @duckdb/node-api`');
  });

  it('a PostgreSQL table names --to and both driver packages, before any connection', async () => {
    const { code, err } = await withoutPackages(['pg-copy-streams'], ['export', '--emulator', '--to', 'postgres://u:not-shown@127.0.0.1:1/db', '--table', 't']);
    expect(code).toBe(2);
    expect(err).toContain('Invalid --to: needs the optional packages pg pg-copy-streams for the PostgreSQL destination');
    expect(err).toContain('run `npm install pg pg-copy-streams`');
    expect(err).not.toContain('not-shown');
  });

  it('a queued export names --queue and `npm install bullmq ioredis`', async () => {
    const { code, err } = await withoutPackages(['bullmq'], ['export', '--queue', 'redis://127.0.0.1:1', '--to', 'postgres://u@127.0.0.1:1/db', '--table', 't', '--since', '2024-01-01', '--until', '2024-02-01']);
    expect(code).toBe(2);
    expect(err).toContain('Invalid --queue: needs the optional packages bullmq ioredis for the scale-out export');
    expect(err).toContain('run `npm install bullmq ioredis`');
  });

  it("a worker's --metrics-port names the metrics SDK and the Prometheus exporter at versions that run on Node 20", async () => {
    const { code, err } = await withoutPackages(['@opentelemetry/exporter-prometheus'], ['worker', '--queue', 'redis://127.0.0.1:1', '--metrics-port', '0']);
    expect(code).toBe(2);
    expect(err).toContain('Invalid --metrics-port: needs the optional packages @opentelemetry/sdk-metrics@2 @opentelemetry/exporter-prometheus@0.223 for the Prometheus endpoint');
  });
});
