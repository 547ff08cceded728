// The PostgreSQL destination and postgresWriter() against a real throwaway PostgreSQL 15 cluster
// (test/helpers/postgres.ts): round trips, bad table names, tables of another shape, bad
// credentials, and the guarded checkpoint upsert.
import { inspect } from 'node:util';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { innerworksMapping } from '../src/destinations/columns.js';
import { DatabaseError } from '../src/destinations/database-error.js';
import { createPostgresDestination, postgresWriter } from '../src/destinations/postgres.js';
import { describePostgres, resolvePostgresConnection, withoutPassword } from '../src/destinations/pg-url.js';
import { chooseDestination } from '../src/destinations/index.js';
import { position, sampleRecord } from './helpers/destination-tests.js';
import { rejection } from './helpers/rejection.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { captureCli } from './helpers/cli.js';
import { EXIT } from '../src/cli/command.js';

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgres();
});
afterAll(async () => {
  await cluster?.stop();
});

const query = <T = Record<string, unknown>>(sql: string, values?: unknown[]) => cluster.query<T>(sql, values);

const NASTY = [
  `it's "quoted"`,
  'back\\slash \\N and \\t literally',
  'tab\there, newline\nthere, cr\rhere',
  'ünïcödé — 日本語 — emoji 🎉',
  '',
  ',;|{}[]',
];

describe('postgresWriter', () => {
  it('round-trips text with quotes, backslashes, control characters and non-ASCII, typed columns and extras', async () => {
    const objects = NASTY.map((text, i) => ({ id: `o-${i}`, text, ok: i % 2 === 0, score: i + 0.5, nested: { deep: text }, ...(i === 3 ? { later: 'only here' } : {}) }));
    const writer = postgresWriter({ connectionString: cluster.url, table: 'nasty', batchSize: 4 });
    await pipeline(Readable.from(objects), writer);
    expect(writer.stats).toMatchObject({ records: NASTY.length, batches: 2 });
    const rows = await query<{ id: string; text: string; ok: boolean; score: number; nested: unknown; extras: unknown }>('SELECT id, text, ok, score, nested, extras FROM nasty ORDER BY id');
    expect(rows.map((row) => row.text)).toEqual(NASTY);
    expect(rows.map((row) => row.ok)).toEqual(NASTY.map((_, i) => i % 2 === 0));
    expect(rows.map((row) => row.score)).toEqual(NASTY.map((_, i) => i + 0.5));
    expect(rows.map((row) => row.nested)).toEqual(NASTY.map((text) => ({ deep: text })));
    // A field the first object did not have is kept in extras, not dropped.
    expect(rows[3].extras).toEqual({ later: 'only here' });
    const types = await query<{ column_name: string; data_type: string }>("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'nasty' ORDER BY ordinal_position");
    expect(types.map((t) => `${t.column_name} ${t.data_type}`)).toEqual(['id text', 'text text', 'ok boolean', 'score double precision', 'nested json', 'extras json']);
  });

  it('takes a columns option with paths and types', async () => {
    const writer = postgresWriter({
      connectionString: cluster.url,
      table: 'public.predictions',
      columns: ['uid', { name: 'label', path: 'prediction.label' }, { name: 'at', path: 'prediction.at', type: 'timestamp' }],
    });
    await pipeline(Readable.from([{ uid: 'a', prediction: { label: 'spam', at: '2024-05-01T10:00:00.000Z', p: 0.9 } }]), writer);
    const [row] = await query<{ uid: string; label: string; at: Date; extras: unknown }>('SELECT uid, label, at, extras FROM predictions');
    expect(row).toEqual({ uid: 'a', label: 'spam', at: new Date('2024-05-01T10:00:00.000Z'), extras: { prediction: { p: 0.9 } } });
  });

  it('refuses a table name with SQL in it before connecting, and nothing executes', async () => {
    await query('CREATE TABLE IF NOT EXISTS x (a int)');
    for (const table of ['results; drop table x', 'x"; drop table x; --', 'a.b.c', '1abc', 'res ults']) {
      const error = (() => {
        try {
          postgresWriter({ connectionString: cluster.url, table });
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error, table).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe('table');
    }
    expect(await query("SELECT to_regclass('x') AS t")).toEqual([{ t: 'x' }]);
  });

  it('refuses an existing table with other columns before writing any row', async () => {
    await query('CREATE TABLE shaped (id text, other integer)');
    await query("INSERT INTO shaped VALUES ('keep', 1)");
    const writer = postgresWriter({ connectionString: cluster.url, table: 'shaped' });
    const error = await rejection<DatabaseError>(pipeline(Readable.from([{ id: 'new', value: 'v' }]), writer));
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error.message).toMatch(/table shaped exists with other columns \(missing value text, extras json; unexpected other int4\)/);
    expect(await query('SELECT * FROM shaped')).toEqual([{ id: 'keep', other: 1 }]);
  });

  it('names host and database on a wrong password or an unreachable server, never the password', async () => {
    const badPassword = 'not-the-right-password-4242';
    const url = `postgres://${cluster.user}:${badPassword}@127.0.0.1:${cluster.port}/${cluster.database}`;
    const writer = postgresWriter({ connectionString: url, table: 'never' });
    expect(inspect(writer, { showHidden: true, depth: 10 })).not.toContain(badPassword);
    const error = await rejection<DatabaseError>(pipeline(Readable.from([{ id: 1 }]), writer));
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error.message).toContain(`postgres://${cluster.user}@127.0.0.1:${cluster.port}/${cluster.database}`);
    expect(error.message).toMatch(/password authentication failed.*check the user and password/);
    expect(error.code).toBe('28P01');
    for (const text of [error.message, error.stack ?? '', inspect(error, { depth: 10 }), inspect(writer, { showHidden: true, depth: 10 })]) expect(text).not.toContain(badPassword);

    // A port nobody listens on (the cluster's own port + 1 is free at least while this runs).
    const closed = postgresWriter({ connectionString: `postgres://${cluster.user}:${badPassword}@127.0.0.1:1/${cluster.database}`, table: 'never' });
    const refused = await rejection<DatabaseError>(pipeline(Readable.from([{ id: 1 }]), closed));
    expect(refused.message).toMatch(new RegExp(`postgres://${cluster.user}@127\\.0\\.0\\.1:1/${cluster.database}: cannot connect to PostgreSQL.*ECONNREFUSED`));
    expect(inspect(refused)).not.toContain(badPassword);
    expect(await query("SELECT to_regclass('never') AS t")).toEqual([{ t: null }]);
  });
});

describe('createPostgresDestination', () => {
  const mapping = innerworksMapping();

  it('saves the initial positions once, writes a page and its position together, and resumes from the database', async () => {
    const open = () => createPostgresDestination({ connectionString: cluster.url, table: 'results' }, { mapping });
    const first = open();
    const opened = await first.open({ exportId: 'e1', initial: [position(0, undefined), position(0, undefined)] });
    expect(opened).toEqual({ positions: [position(0, undefined), position(0, undefined)], resumed: false });
    await first.write(0, [sampleRecord(0), sampleRecord(1)], position(2, 'cp-a'));
    await first.write(1, [sampleRecord(10), sampleRecord(11)], position(2, 'cp-b'));
    await first.write(1, [], position(2, 'cp-b2', true));
    await first.close(false);

    const second = open();
    expect(await second.open({ exportId: 'e1', initial: [position(0, undefined), position(0, undefined)] })).toEqual({
      positions: [position(2, 'cp-a'), position(2, 'cp-b2', true)],
      resumed: true,
    });
    await second.close(true);
    const rows = await query<{ request_id: string; timestamp: Date; vpn_is_enabled: boolean; browser: string; extras: unknown }>(
      'SELECT request_id, timestamp, vpn_is_enabled, browser, extras FROM results ORDER BY request_id',
    );
    expect(rows.map((row) => row.request_id)).toEqual(['req-0', 'req-1', 'req-10', 'req-11']);
    expect(rows[0]).toEqual({ request_id: 'req-0', timestamp: new Date(Date.UTC(2024, 0, 1)), vpn_is_enabled: true, browser: 'Chrome', extras: { result: { geolocation: { isp: 'later field' } } } });
    const saved = await query(`SELECT export_id, partition, target_table, records::int, checkpoint, done FROM inference_streams_checkpoints WHERE export_id = 'e1' ORDER BY partition`);
    expect(saved).toEqual([
      { export_id: 'e1', partition: 0, target_table: 'results', records: 2, checkpoint: 'cp-a', done: false },
      { export_id: 'e1', partition: 1, target_table: 'results', records: 2, checkpoint: 'cp-b2', done: true },
    ]);
  });

  it('refuses a page when another writer moved the partition on, and writes none of its rows', async () => {
    const a = createPostgresDestination({ connectionString: cluster.url, table: 'contested' }, { mapping });
    const b = createPostgresDestination({ connectionString: cluster.url, table: 'contested' }, { mapping });
    await a.open({ exportId: 'e2', initial: [position(0, undefined)] });
    await b.open({ exportId: 'e2', initial: [position(0, undefined)] });
    await a.write(0, [sampleRecord(1), sampleRecord(2)], position(2, 'cp-1'));
    const error = await rejection<DatabaseError>(b.write(0, [sampleRecord(1), sampleRecord(2)], position(2, 'cp-1')));
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error.code).toBe('CHECKPOINT_CONFLICT');
    await Promise.all([a.close(true), b.close(false)]);
    expect(await query('SELECT count(*)::int AS n FROM contested')).toEqual([{ n: 2 }]);
  });

  it('leaves the saved position unchanged when a page fails (a row PostgreSQL refuses)', async () => {
    const dest = createPostgresDestination({ connectionString: cluster.url, table: 'failing' }, { mapping });
    await dest.open({ exportId: 'e3', initial: [position(0, undefined)] });
    await dest.write(0, [sampleRecord(1), sampleRecord(2)], position(2, 'cp-1'));
    // A row the table refuses (here by a CHECK constraint): the COPY fails and the transaction with it.
    await query("ALTER TABLE failing ADD CONSTRAINT no_refused CHECK (project_id IS DISTINCT FROM 'refused')");
    const error = await rejection<DatabaseError>(dest.write(0, [sampleRecord(3), { ...sampleRecord(4), projectId: 'refused' }], position(4, 'cp-2')));
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error.message).toMatch(/writing to postgres table failing failed/);
    await dest.close(false);
    expect(await query(`SELECT records::int, checkpoint FROM inference_streams_checkpoints WHERE export_id = 'e3'`)).toEqual([{ records: 2, checkpoint: 'cp-1' }]);
    expect(await query('SELECT count(*)::int AS n FROM failing')).toEqual([{ n: 2 }]);
  });
});

describe('PostgreSQL connection settings (libpq conventions)', () => {
  it('reads the URL, then DATABASE_URL, and fills the rest from PG* variables', () => {
    expect(resolvePostgresConnection('postgres://u:p%40ss@db.example:6543/warehouse?sslmode=require', {})).toMatchObject({ host: 'db.example', port: 6543, user: 'u', password: 'p@ss', database: 'warehouse', sslMode: 'require' });
    expect(resolvePostgresConnection(undefined, { DATABASE_URL: 'postgresql://a@h/d' })).toMatchObject({ host: 'h', port: 5432, user: 'a', database: 'd' });
    expect(resolvePostgresConnection('postgres:///only-db', { PGHOST: '/var/run/postgresql', PGUSER: 'me', PGPASSWORD: 'env-secret-123', PGPORT: '5433' })).toMatchObject({
      host: '/var/run/postgresql',
      port: 5433,
      user: 'me',
      password: 'env-secret-123',
      database: 'only-db',
    });
    expect(resolvePostgresConnection(undefined, { PGUSER: 'me' })).toMatchObject({ host: 'localhost', user: 'me', database: 'me' });
    expect(describePostgres(resolvePostgresConnection('postgres://u:secret-pw-999@h:1/d', {}))).toBe('postgres://u@h:1/d');
    expect(withoutPassword('postgres://u:secret-pw-999@h:1/d')).toBe('postgres://u:[REDACTED]@h:1/d');
  });

  it('refuses a URL of another scheme without echoing its password', () => {
    const error = (() => {
      try {
        resolvePostgresConnection('mysql://u:hidden-pw-321@h/d', {});
      } catch (caught) {
        return caught as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).not.toContain('hidden-pw-321');
  });

  it('redacts a raw password holding / ? # @ (the URL does not parse) in every message', () => {
    for (const special of ['/', '?', '#', '@']) {
      const password = `pw${special}rest-of-secret-77`;
      expect(withoutPassword(`postgres://u:${password}@h:1/d`)).toBe('postgres://u:[REDACTED]@h:1/d');
      expect(withoutPassword(`postgres://h/d?user=u&password=${password}&sslmode=require`)).not.toContain('rest-of-secret');
      for (const url of [`postgres://u:${password}@h:1/d`, `mysql://u:${password}@h/d`]) {
        const message = (() => {
          try {
            resolvePostgresConnection(url, {});
          } catch (caught) {
            return (caught as Error).message;
          }
          return '';
        })();
        expect(message).not.toContain('rest-of-secret');
      }
      const chosen = (() => {
        try {
          chooseDestination({ to: `mysql://u:${password}@h/d`, table: 't' });
        } catch (caught) {
          return caught as Error;
        }
        throw new Error('expected a ConfigError');
      })();
      expect(chosen).toBeInstanceOf(ConfigError);
      expect(chosen.message).not.toContain('rest-of-secret');
    }
    expect(withoutPassword('postgres://u@h:1/d')).toBe('postgres://u@h:1/d');
  });

  it('refuses a raw @ and / in the password (which would make its tail the host) showing no part of the user name or password, also from the CLI with --json', async () => {
    const url = 'postgres://u:Xy7@SecretTail/MoreSecret@127.0.0.1:1/db';
    for (const bad of [url, 'postgres://u:12#Tail@SecretTail@h/d', 'postgres://u:12?Secret@Tail@h/d']) {
      const error = rejectionOf(() => resolvePostgresConnection(bad, {}, 'to'));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe('to');
      expect(error.message).toMatch(/percent-encode/);
      expect(error.message).not.toMatch(/Secret|Tail|Xy7|u:/);
    }
    expect(rejectionOf(() => resolvePostgresConnection(url, {})).message).toContain('postgres://[REDACTED]@127.0.0.1:1/db');
    // The same URL with its password encoded is fine.
    expect(resolvePostgresConnection('postgres://u:Xy7%40SecretTail%2FMoreSecret@127.0.0.1:1/db', {})).toMatchObject({ host: '127.0.0.1', port: 1, password: 'Xy7@SecretTail/MoreSecret' });
    // An @ in a query value cannot be told from a password's: it must be encoded.
    expect(rejectionOf(() => resolvePostgresConnection('postgres://h/d?application_name=me@home', {})).message).toMatch(/%40/);
    expect(resolvePostgresConnection('postgres://h/d?application_name=me%40home', {})).toMatchObject({ host: 'h', applicationName: 'me@home' });
    for (const json of [[], ['--json']]) {
      const cli = captureCli({ env: { INNERWORKS_API_KEY: 'unused-key-1234' } });
      expect(await cli.run('export', '--to', url, '--table', 't', '--base-url', 'http://127.0.0.1:1', ...json)).toBe(EXIT.usage);
      expect(cli.err()).toMatch(/--to/);
      expect(cli.err() + cli.out()).not.toMatch(/SecretTail|MoreSecret/);
    }
  });

  it('shows no part of the password when the user name holds a / or a space, or a raw ? puts the password in the port and query', () => {
    // (a) does not parse, and the user name "a b/c" defeated the old redaction; (b) parsed with
    // host "u", port "1234" and sslmode read out of the password.
    for (const bad of ['postgres://a b/c:Secret-88@h/db', 'postgres://u:1234?sslmode=disable&x=Secret-88@h/db', 'postgres://u:12#x=Secret-88@h/db']) {
      const error = rejectionOf(() => resolvePostgresConnection(bad, {}, 'to'));
      expect(error, bad).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe('to');
      expect(error.message, bad).not.toMatch(/Secret|1234|sslmode=disable/);
      expect(withoutPassword(bad)).not.toContain('Secret');
    }
    expect(withoutPassword('postgres://a b/c:Secret-88@h/db')).toBe('postgres://[REDACTED]@h/db');
    expect(withoutPassword('mysql://a/b:Secret-88@h/db')).toBe('mysql://[REDACTED]@h/db');
    expect(withoutPassword('postgres://a b:Secret-88@h/db')).toBe('postgres://[REDACTED]@h/db');
  });

  it('names the option and the part for a malformed percent-encoding (%ZZ), never showing the password', () => {
    for (const [url, part] of [
      ['postgres://u:pw%ZZsecret-55@h/d', 'password'],
      ['postgres://u%ZZ:pw@h/d', 'user name'],
      ['postgres://u@h/d%ZZ', 'database name'],
    ]) {
      const error = rejectionOf(() => resolvePostgresConnection(url, {}, 'to'));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain('"to"');
      expect(error.message).toContain(`malformed percent-encoding in its ${part}`);
      expect(error.message).not.toContain('secret-55');
    }
  });
});

function rejectionOf(run: () => unknown): Error {
  try {
    run();
  } catch (caught) {
    return caught as Error;
  }
  throw new Error('expected an error');
}
