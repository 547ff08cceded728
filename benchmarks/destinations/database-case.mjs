// One database benchmark case in its own process (its peak RSS is its own):
//   node database-case.mjs duckdb-export   <baseUrl> <records> <batchSize>
//   node database-case.mjs postgres-export <baseUrl> <records> <batchSize> <postgresUrl>
//   node database-case.mjs postgres-copy   <records> <postgresUrl>
//   node database-case.mjs postgres-insert <records> <postgresUrl>
// *-export: exportInferenceResults from the emulator into the database (the API key from
// INNERWORKS_API_KEY). postgres-copy / postgres-insert: the load alone, 5000-record pages each
// committed with its checkpoint: -copy through the PostgreSQL destination (COPY FROM STDIN),
// -insert with 1000-row multi-row INSERT statements in the same transactions. Their records
// are 10 pages of the emulator's dataset, parsed before the clock starts and written in turn,
// so that both time the database path, not JSON.parse. Prints one JSON line (report()).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { exportInferenceResults } from '../../dist/index.js';
import { innerworksMapping } from '../../dist/destinations/columns.js';
import { createPostgresDestination } from '../../dist/destinations/postgres.js';
import { InnerworksDataset } from '../../dist/emulator/innerworks-data.js';
import { duckdbHostUsage } from '../../dist/destinations/duckdb-host.js';
import { report } from '../lib.mjs';

const [mode, ...args] = process.argv.slice(2);
const PAGE = 5000;
const table = `bench_${mode.replace('-', '_')}_${process.pid}`;
let started = performance.now();
let records = 0;

if (mode === 'duckdb-export' || mode === 'postgres-export') {
  const [baseUrl, recordsText, batchText, postgresUrl] = args;
  const dir = mode === 'duckdb-export' ? await mkdtemp(join(tmpdir(), 'bench-duckdb-')) : undefined;
  const to = dir ? `duckdb:${join(dir, 'bench.duckdb')}` : postgresUrl;
  const summary = await exportInferenceResults({ to, table, apiKey: process.env.INNERWORKS_API_KEY, baseUrl, batchSize: Number(batchText) });
  records = summary.records;
  if (records !== Number(recordsText)) throw new Error(`${mode}: expected ${recordsText} records, got ${records}`);
  if (dir) await rm(dir, { recursive: true, force: true });
} else if (mode === 'postgres-copy' || mode === 'postgres-insert') {
  const [recordsText, postgresUrl] = args;
  const total = Number(recordsText);
  const dataset = new InnerworksDataset(1, 10 * PAGE, Date.UTC(2024, 0, 1), 1000);
  const pool = Array.from({ length: 10 }, (_, i) => JSON.parse(`[${dataset.recordsJson(i * PAGE, (i + 1) * PAGE)}]`));
  const mapping = innerworksMapping();
  const destination = createPostgresDestination({ connectionString: postgresUrl, table }, { mapping });
  // The destination creates the table and the checkpoint row for both modes.
  await destination.open({ exportId: table, initial: [{ records: 0, pages: 0, done: false }] });
  const client = mode === 'postgres-insert' ? new pg.Client({ connectionString: postgresUrl }) : undefined;
  await client?.connect();
  started = performance.now();
  const columns = mapping.columns.map((c) => `"${c.name}"`).join(', ');
  for (let first = 0; first < total; first += PAGE) {
    const page = pool[(first / PAGE) % pool.length].slice(0, Math.min(PAGE, total - first));
    const position = { records: first + page.length, pages: first / PAGE + 1, checkpoint: `cp-${first}`, done: false };
    if (client) {
      await client.query('BEGIN');
      for (let i = 0; i < page.length; i += 1000) {
        const values = [];
        const tuples = [];
        for (const record of page.slice(i, i + 1000)) {
          const row = mapping.row(record).map((value, c) => (value !== null && mapping.columns[c].type === 'timestamp' ? new Date(value) : value));
          tuples.push(`(${row.map((_, c) => `$${values.length + c + 1}`).join(', ')})`);
          values.push(...row);
        }
        await client.query(`INSERT INTO ${table} (${columns}) VALUES ${tuples.join(', ')}`, values);
      }
      await client.query(`UPDATE inference_streams_checkpoints SET records = $1, pages = $2, checkpoint = $3 WHERE export_id = $4 AND partition = 0`, [position.records, position.pages, position.checkpoint, table]);
      await client.query('COMMIT');
    } else {
      await destination.write(0, page, position);
    }
    records += page.length;
  }
  await client?.end();
  await destination.close(true);
} else {
  throw new Error(`unknown mode ${mode}`);
}
const elapsedMs = performance.now() - started;
// DuckDB runs in a host process (dist/destinations/duckdb-host.js): its peak RSS beside this process's.
report({ mode, records, elapsedMs, recordsPerSec: (records * 1000) / elapsedMs, hostPeakRssMb: Number(duckdbHostUsage().peakRssMb.toFixed(1)), hostCpuMs: Math.round(duckdbHostUsage().cpuMs), cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000) });
process.exit(0);
