// `inference-streams predict --in docs.jsonl --to postgres://… --table T`, SIGKILLed at random
// moments under 10 % injected faults and rerun each time: exactly N rows, each input once, equal
// to a run that was never killed, resends bounded; the columns typed in PostgreSQL and DuckDB.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictInto } from '../src/reinfer/index.js';
import { emulatorPerTest } from './helpers/destination-tests.js';
import { duckdbRows, sqlString } from './helpers/file-exports.js';
import { killLoop, usePrivateBuild } from './helpers/kill-loop.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { tempDir } from './helpers/temp-dir.js';
import { conn, docs } from './reinfer-helpers.js';

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgres();
});
afterAll(async () => {
  await cluster?.stop();
});
const startEmulator = emulatorPerTest();
const cli = usePrivateBuild('predict-into-pg');
const dir = tempDir('predict-into-pg-');
const query = <T = Record<string, unknown>>(sql: string) => cluster.query<T>(sql);
const withoutPassword = () => `postgres://${cluster.user}@127.0.0.1:${cluster.port}/${cluster.database}`;

const N = 5000;
const BATCH = 40;
const CONCURRENCY = 4;
const FAULTS = { rate: 0.1, kinds: ['429', '500', '503', 'reset', 'truncate'] as ('429' | '500' | '503' | 'reset' | 'truncate')[], retryAfterMs: 5, routes: ['reinfer'] };

describe('predict --to postgres', () => {
  it('survives 10 % faults and 5+ SIGKILLs: exactly N rows, each input once, equal to a one-shot run', async () => {
    const emulator = await startEmulator({ port: 0, faults: FAULTS });
    emulator.reinfer.configure({ latencyMs: 40, perDocumentMs: 1.5, jitterMs: 0 });
    const input = join(dir(), 'docs.jsonl');
    await writeFile(input, `${docs(N).map((d) => JSON.stringify(d)).join('\n')}\n`);
    const args = (table: string) => ['predict', '--project', 'acme', '--dataset', 'emails', '--in', input, '--to', withoutPassword(), '--table', table, '--batch-size', String(BATCH), '--concurrency', String(CONCURRENCY), '--json'];
    const result = await killLoop({ cli: cli(), args: args('killed'), env: { ...emulator.env, PGPASSWORD: cluster.password }, minKills: 5, killAfterMs: () => 400 + Math.random() * 900 });
    expect(result.kills).toBeGreaterThanOrEqual(5);
    // Not `resumed`: every kill may land before a run opens the table on a loaded machine.
    expect(JSON.parse(result.stdout)).toMatchObject({ records: N, format: 'postgres' });
    expect(result.stdout + result.stderr).not.toContain(cluster.password);
    expect(emulator.reinfer.documentsReceived()).toBeLessThanOrEqual(N + (result.kills + 1) * (CONCURRENCY + 2) * BATCH);
    const [counts] = await query<{ rows: number; ids: number; min: string; max: string }>('SELECT count(*)::int AS rows, count(DISTINCT id)::int AS ids, min(id::int)::text AS min, max(id::int)::text AS max FROM killed');
    expect(counts).toEqual({ rows: N, ids: N, min: '0', max: String(N - 1) });

    emulator.setFaults({ retryAfterMs: 5 });
    const oneShot = await killLoop({ cli: cli(), args: args('one_shot'), env: { ...emulator.env, PGPASSWORD: cluster.password }, minKills: 0, killAfterMs: () => 0 });
    expect(JSON.parse(oneShot.stdout)).toMatchObject({ records: N, resumed: false });
    const [{ n }] = await query<{ n: number }>('SELECT ((SELECT count(*) FROM (SELECT r::text FROM killed r EXCEPT ALL SELECT r::text FROM one_shot r) x) + (SELECT count(*) FROM (SELECT r::text FROM one_shot r EXCEPT ALL SELECT r::text FROM killed r) y))::int AS n');
    expect(n).toBe(0);
    const types = await query<{ column_name: string; data_type: string }>("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'killed' ORDER BY ordinal_position");
    expect(types.map((t) => t.column_name)).toEqual(['id', 'top_label', 'top_probability', 'labels', 'entities', 'sentiment', 'model_version', 'extras']);
  }, 240_000);

  it('DuckDB: typed prediction columns, the position committed with the rows', async () => {
    const emulator = await startEmulator({ port: 0 });
    const input = join(dir(), 'few.jsonl');
    await writeFile(input, `${docs(30).map((d) => JSON.stringify(d)).join('\n')}\n`);
    const database = join(dir(), 'p.duckdb');
    const summary = await predictInto({ ...conn(emulator), input, to: `duckdb:${database}`, table: 'preds', batchSize: 7, keepInput: true });
    expect(summary).toMatchObject({ records: 30, format: 'duckdb', files: [] });
    const again = await predictInto({ ...conn(emulator), input, to: `duckdb:${database}`, table: 'preds', batchSize: 7, keepInput: true });
    expect(again).toMatchObject({ records: 30, resumed: true });
    expect(again.stats.documents).toBe(0);
    const [[rows, ids, version, labels]] = await duckdbRows(`ATTACH ${sqlString(database)} AS p (READ_ONLY); SELECT count(*), count(DISTINCT id), typeof(any_value(model_version)), json_array_length(any_value(labels)::JSON) > 0 FROM p.preds`);
    expect([Number(rows), Number(ids), version, labels]).toEqual([30, 30, 'BIGINT', true]);
  });
});
