// The DuckDB destination and duckdbWriter(): round trips read back through a separate DuckDB
// instance, bad table names, tables of another shape, and positions saved with the rows.
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { innerworksMapping } from '../src/destinations/columns.js';
import { DatabaseError } from '../src/destinations/database-error.js';
import { createDuckdbDestination, duckdbWriter } from '../src/destinations/duckdb.js';
import { position, queryDuckdb, sampleRecord } from './helpers/destination-tests.js';
import { rejection } from './helpers/rejection.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('duckdb-dest-');

const NASTY = [`it's "quoted"`, 'back\\slash \\N', 'tab\there, newline\nthere, cr\rhere', 'ünïcödé — 日本語 — emoji 🎉', '', 'nul\u0000inside'];

describe('duckdbWriter', () => {
  it('round-trips text with quotes, backslashes, control characters and non-ASCII, typed columns and extras', async () => {
    const database = join(dir(), 'nasty.duckdb');
    const objects = NASTY.map((text, i) => ({ id: `o-${i}`, text, ok: i % 2 === 0, score: i + 0.5, nested: { deep: text }, ...(i === 3 ? { later: 'only here' } : {}) }));
    const writer = duckdbWriter({ database, table: 'nasty', batchSize: 4 });
    await pipeline(Readable.from(objects), writer);
    expect(writer.stats).toMatchObject({ records: NASTY.length, batches: 2 });
    const rows = await queryDuckdb(database, 'SELECT id, text, ok, score, nested, extras FROM nasty ORDER BY id');
    // NUL is the one value a text column does not take (PostgreSQL cannot store it; one rule for
    // every destination): it is null there and whole in extras.
    expect(rows.map((row) => row.text)).toEqual(NASTY.map((text) => (text.includes('\u0000') ? null : text)));
    expect(JSON.parse(String(rows[5].extras))).toEqual({ text: 'nul\u0000inside' });
    expect(rows.map((row) => row.ok)).toEqual(NASTY.map((_, i) => i % 2 === 0));
    expect(rows.map((row) => row.score)).toEqual(NASTY.map((_, i) => i + 0.5));
    expect(rows.map((row) => JSON.parse(String(row.nested)))).toEqual(NASTY.map((text) => ({ deep: text })));
    expect(JSON.parse(String(rows[3].extras))).toEqual({ later: 'only here' });
    const types = await queryDuckdb(database, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'nasty' ORDER BY ordinal_position");
    expect(types.map((t) => `${t.column_name} ${t.data_type}`)).toEqual(['id VARCHAR', 'text VARCHAR', 'ok BOOLEAN', 'score DOUBLE', 'nested VARCHAR', 'extras VARCHAR']);
  });

  it('refuses a table name with SQL in it, and an existing table with other columns before any row', async () => {
    const database = join(dir(), 'refuse.duckdb');
    for (const table of ['results; drop table x', 'x"; drop table x; --', '1abc']) {
      expect(() => duckdbWriter({ database, table }), table).toThrow(ConfigError);
    }
    const setup = await DuckDBInstance.create(database);
    const connection = await setup.connect();
    await connection.run("CREATE TABLE shaped (id VARCHAR, other INTEGER); INSERT INTO shaped VALUES ('keep', 1)");
    connection.closeSync();
    setup.closeSync();
    const error = await rejection<DatabaseError>(pipeline(Readable.from([{ id: 'new', value: 'v' }]), duckdbWriter({ database, table: 'shaped' })));
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error.message).toContain(`duckdb:${database}: table shaped exists with other columns (missing value VARCHAR, extras VARCHAR; unexpected other INTEGER)`);
    expect(await queryDuckdb(database, 'SELECT * FROM shaped')).toEqual([{ id: 'keep', other: 1 }]);
  });

  it('an empty stream with columns creates the empty table', async () => {
    const database = join(dir(), 'empty.duckdb');
    await pipeline(Readable.from([]), duckdbWriter({ database, table: 'empty', columns: ['id', { name: 'score', path: 'score', type: 'double' }] }));
    const columns = await queryDuckdb(database, "SELECT column_name FROM information_schema.columns WHERE table_name = 'empty' ORDER BY ordinal_position");
    expect(columns.map((row) => row.column_name)).toEqual(expect.arrayContaining(['id', 'score']));
    expect(await queryDuckdb(database, 'SELECT count(*)::INTEGER AS n FROM empty')).toEqual([{ n: 0 }]);
  });

  it('says which file it cannot open', async () => {
    const database = join(dir(), 'no-such-dir', 'x.duckdb');
    const writer = duckdbWriter({ database, table: 't' });
    const error = await rejection<DatabaseError>(pipeline(Readable.from([{ id: 1 }]), writer));
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error.message).toContain(`duckdb:${database}: cannot open the DuckDB database`);
  });

  it('waits up to 3 s for a file another process holds (a killed run\'s DuckDB process exiting), then says another process has it', async () => {
    const database = join(dir(), 'held.duckdb');
    // This test's process holds the file; the writer's DuckDB runs in a process of its own.
    const hold = async () => {
      const instance = await DuckDBInstance.create(database);
      const connection = await instance.connect();
      return () => {
        connection.closeSync();
        instance.closeSync();
      };
    };
    let release = await hold();
    setTimeout(() => release(), 700);
    await pipeline(Readable.from([{ id: 'a' }]), duckdbWriter({ database, table: 't' }));
    expect(await queryDuckdb(database, 'SELECT id FROM t')).toEqual([{ id: 'a' }]);

    release = await hold();
    try {
      const started = Date.now();
      const error = await rejection<DatabaseError>(pipeline(Readable.from([{ id: 'b' }]), duckdbWriter({ database, table: 't' })));
      expect(error).toBeInstanceOf(DatabaseError);
      expect(error.message).toMatch(/another process has it open for writing; DuckDB allows one/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    } finally {
      release();
    }
    expect(await queryDuckdb(database, 'SELECT id FROM t')).toEqual([{ id: 'a' }]);
  });
});

describe('createDuckdbDestination', () => {
  const mapping = innerworksMapping();

  it('saves the initial positions once, writes a page and its position together, and resumes from the database', async () => {
    const database = join(dir(), 'export.duckdb');
    const first = createDuckdbDestination({ database, table: 'results' }, { mapping });
    expect(await first.open({ exportId: 'e1', initial: [position(0, undefined), position(0, undefined)] })).toEqual({ positions: [position(0, undefined), position(0, undefined)], resumed: false });
    await first.write(0, [sampleRecord(0), sampleRecord(1)], position(2, 'cp-a'));
    await first.write(1, [sampleRecord(10), sampleRecord(11)], position(2, 'cp-b'));
    await first.write(1, [], position(2, 'cp-b2', true));
    await first.close(false);

    const second = createDuckdbDestination({ database, table: 'results' }, { mapping });
    expect(await second.open({ exportId: 'e1', initial: [position(0, undefined)] })).toEqual({ positions: [position(2, 'cp-a'), position(2, 'cp-b2', true)], resumed: true });
    await second.close(true);
    const rows = await queryDuckdb(database, 'SELECT request_id, timestamp, vpn_is_enabled, browser, extras FROM results ORDER BY request_id');
    expect(rows.map((row) => row.request_id)).toEqual(['req-0', 'req-1', 'req-10', 'req-11']);
    expect(rows[0]).toMatchObject({ request_id: 'req-0', timestamp: new Date(Date.UTC(2024, 0, 1)), vpn_is_enabled: true, browser: 'Chrome' });
    expect(JSON.parse(String(rows[0].extras))).toEqual({ result: { geolocation: { isp: 'later field' } } });
    const saved = await queryDuckdb(database, "SELECT partition, records, checkpoint, done FROM inference_streams_checkpoints WHERE export_id = 'e1' ORDER BY partition");
    expect(saved).toEqual([
      { partition: 0, records: 2n, checkpoint: 'cp-a', done: false },
      { partition: 1, records: 2n, checkpoint: 'cp-b2', done: true },
    ]);
  });

  it('refuses an export id saved for another table instead of resuming from its positions', async () => {
    const database = join(dir(), 'two-tables.duckdb');
    const first = createDuckdbDestination({ database, table: 'results' }, { mapping });
    await first.open({ exportId: 'shared', initial: [position(0, undefined)] });
    await first.write(0, [sampleRecord(0), sampleRecord(1)], position(2, 'cp-a'));
    await first.close(true);

    const other = createDuckdbDestination({ database, table: 'archive' }, { mapping });
    const error = await other.open({ exportId: 'shared', initial: [position(0, undefined)] }).catch((caught: unknown) => caught);
    await other.close(false);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).option).toBe('exportId');
    expect((error as Error).message).toContain('results');
    expect((error as Error).message).toContain('archive');
    // Refused before any row: the table it would have created is not there either.
    expect(await queryDuckdb(database, "SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_name = 'archive'")).toEqual([{ n: 0 }]);
  });
});
