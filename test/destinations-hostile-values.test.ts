/**
 * Hostile values (issue 15, item 3): a page of them, served by an independent node:http server,
 * exported to CSV, Parquet, DuckDB and PostgreSQL and read back by another program (DuckDB for
 * the files and the DuckDB table, psql for PostgreSQL). Every record lands everywhere; a value its
 * typed column cannot hold exactly is null there and its original is recovered from `extras`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cellOf, innerworksMapping } from '../src/destinations/columns.js';
import { csvRows, csvWriter } from '../src/destinations/csv.js';
import { EXIT } from '../src/cli/command.js';
import { captureCli } from './helpers/cli.js';
import { exportInferenceResults, type ExportInferenceResultsOptions } from '../src/innerworks/index.js';
import { queryDuckdb } from './helpers/destination-tests.js';
import { duckdbRows, sqlString } from './helpers/file-exports.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { HOSTILE, KEPT, hostilePageText, hostileRecordTexts } from './helpers/hostile-page.js';
import { tempDir } from './helpers/temp-dir.js';

function getAt(value: unknown, path: readonly string[]): unknown {
  let node = value;
  for (const key of path) node = node === null || node === undefined ? undefined : (node as Record<string, unknown>)[key];
  return node;
}

/** One row read back, whatever the destination. */
interface ReadRow {
  request_id: string;
  browser: string | null;
  device_os: string | null;
  vpn_is_enabled: boolean | null;
  timestamp_ms: number | null;
  extras: unknown;
}

let server: TestServer | undefined;
let cluster: PostgresCluster;
const dir = tempDir('hostile-values-');
beforeAll(async () => {
  cluster = await startPostgres();
});
afterAll(async () => {
  await cluster?.stop();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Export the hostile page (then the end of data) with `options`. */
async function exportHostilePage(options: Partial<ExportInferenceResultsOptions>): Promise<void> {
  const page = hostilePageText();
  server = await startTestServer((req, res) => {
    const body = req.url?.includes('checkpoint=') ? '{"batchSize":100,"checkpoint":"cGFnZS0x","results":[]}' : page;
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  const summary = await exportInferenceResults({ apiKey: 'independent-key', baseUrl: server.url, retry: false, ...options } as ExportInferenceResultsOptions);
  expect(summary.records).toBe(HOSTILE.length + KEPT.length + 1);
}

/** Epoch ms of exact epoch microseconds, NaN when they are not whole milliseconds (a time changed on the way). */
function millisOf(micros: bigint): number {
  return micros % 1000n === 0n ? Number(micros / 1000n) : Number.NaN;
}

/** The rows of a DuckDB relation `from`, with `timestamp` turned into epoch µs by `epochUs`. */
async function duckdbRead(from: string, epochUs: string, database?: string): Promise<ReadRow[]> {
  const sql = `SELECT request_id, browser, device_os, vpn_is_enabled::VARCHAR AS vpn, ${epochUs} AS us, extras FROM ${from} ORDER BY request_id`;
  const rows = database === undefined ? await duckdbRows(sql) : (await queryDuckdb(database, sql)).map((row) => Object.values(row));
  return rows.map(([request_id, browser, device_os, vpn, us, extras]) => ({
    request_id: request_id as string,
    browser: browser as string | null,
    device_os: device_os as string | null,
    vpn_is_enabled: vpn === null ? null : vpn === 'true',
    timestamp_ms: us === null ? null : millisOf(BigInt(us as bigint)),
    extras: extras === null ? null : JSON.parse(extras as string),
  }));
}

/** The rows of a PostgreSQL table read through psql: one JSON object per line, extras as its stored text. */
async function psqlRead(table: string): Promise<ReadRow[]> {
  const out = await cluster.psql(
    `SELECT json_build_object('request_id', request_id, 'browser', browser, 'device_os', device_os, 'vpn_is_enabled', vpn_is_enabled,
       'timestamp_us', (extract(epoch FROM "timestamp") * 1000000)::bigint::text, 'extras', extras::text)::text FROM ${table} ORDER BY request_id`,
  );
  return out.split('\n').map((line) => {
    const { timestamp_us, ...row } = JSON.parse(line) as Omit<ReadRow, 'timestamp_ms'> & { timestamp_us: string | null; extras: string | null };
    return { ...row, timestamp_ms: timestamp_us === null ? null : millisOf(BigInt(timestamp_us)), extras: row.extras === null ? null : JSON.parse(row.extras) };
  });
}

/** Every record is there; hostile values are null in their column and whole in extras; kept ones are in their column. */
function expectRecovered(rows: ReadRow[]): void {
  expect(rows.map((row) => row.request_id)).toEqual([...HOSTILE.map((_, i) => `h${String(i).padStart(2, '0')}`), ...KEPT.map((_, i) => `k${i}`), 'proto']);
  const byId = new Map(rows.map((row) => [row.request_id, row]));
  HOSTILE.forEach((hostile, i) => {
    const row = byId.get(`h${String(i).padStart(2, '0')}`)!;
    const recovered = getAt(row.extras, hostile.path);
    expect(recovered, hostile.name).toStrictEqual(hostile.value);
    if (hostile.column === 'timestamp') expect(row.timestamp_ms, hostile.name).toBeNull();
    else if (hostile.column !== '') expect((row as unknown as Record<string, unknown>)[hostile.column], hostile.name).toBeNull();
    else expect(row.browser, hostile.name).toBe('Chrome');
  });
  KEPT.forEach((kept, i) => {
    const row = byId.get(`k${i}`)!;
    expect(row.timestamp_ms, kept.name).toBe(kept.ms);
    expect(row.browser, kept.name).toBe(kept.browser ?? 'Chrome');
    expect(row.device_os, kept.name).toBe(kept.deviceOs ?? 'Linux');
    expect(row.extras, kept.name).toBeNull();
  });
  const proto = byId.get('proto')!;
  expect(Object.keys(proto.extras as object)).toEqual(['result']);
  expect(Object.getOwnPropertyDescriptor((proto.extras as { result: object }).result, '__proto__')?.value).toEqual({ polluted: true });
}

describe('hostile values: every record lands in every destination, the original in extras', () => {
  it('JSONL: each line is the record as the server sent it', async () => {
    const file = join(dir(), 'hostile.jsonl');
    await exportHostilePage({ file });
    expect((await readFile(file, 'utf8')).split('\n')).toEqual([...hostileRecordTexts(), '']);
  });

  it('CSV, read back by DuckDB', async () => {
    const file = join(dir(), 'hostile.csv');
    await exportHostilePage({ file });
    expectRecovered(await duckdbRead(`read_csv(${sqlString(file)}, header = true, all_varchar = true, allow_quoted_nulls = false)`, 'epoch_us("timestamp"::TIMESTAMPTZ)'));
  });

  it('Parquet, read back by DuckDB', async () => {
    const file = join(dir(), 'hostile.parquet');
    await exportHostilePage({ file });
    expectRecovered(await duckdbRead(`read_parquet(${sqlString(file)})`, 'epoch_us("timestamp")'));
  });

  it('DuckDB, read back by another DuckDB instance', async () => {
    const database = join(dir(), 'hostile.duckdb');
    await exportHostilePage({ to: `duckdb:${database}`, table: 'hostile' });
    expectRecovered(await duckdbRead('hostile', 'epoch_us("timestamp")', database));
  });

  it('PostgreSQL, read back by psql', async () => {
    await exportHostilePage({ to: cluster.url, table: 'hostile' });
    expectRecovered(await psqlRead('hostile'));
    // extras is json (not jsonb, which refuses \u0000): the stored text is the JSON.stringify text.
    expect(await cluster.psql("SELECT data_type FROM information_schema.columns WHERE table_name = 'hostile' AND column_name = 'extras'")).toBe('json');
  });

  it('a PostgreSQL table of an earlier version (extras jsonb) is refused with the ALTER that converts it; converted, it takes the page', async () => {
    const columns = innerworksMapping().columns.map((column) => `"${column.name}" ${column.type === 'json' ? 'jsonb' : column.type === 'timestamp' ? 'timestamptz' : column.type === 'boolean' ? 'boolean' : 'text'}`);
    await cluster.psql(`CREATE TABLE legacy (${columns.join(', ')})`);
    await expect(exportHostilePage({ to: cluster.url, table: 'legacy' })).rejects.toThrow(/extras is jsonb, not json.*ALTER TABLE … ALTER COLUMN extras TYPE json/);
    await cluster.psql('ALTER TABLE legacy ALTER COLUMN extras TYPE json');
    await exportHostilePage({ to: cluster.url, table: 'legacy' });
    expectRecovered(await psqlRead('legacy'));
  });

  it('keepRecord: the record column holds each record whole, in every destination', async () => {
    const database = join(dir(), 'record.duckdb');
    await exportHostilePage({ to: `duckdb:${database}`, table: 'kept', keepRecord: true });
    const duck = await queryDuckdb(database, "SELECT record FROM kept WHERE request_id = 'h00'");
    expect(JSON.parse(duck[0].record as string).result.fingerprinting.browser).toBe('a\u0000b');
    await exportHostilePage({ to: cluster.url, table: 'kept', keepRecord: true });
    expect(JSON.parse(await cluster.psql("SELECT record::text FROM kept WHERE request_id = 'h02'")).result.note).toBe('alone \ud800 here');
  });
});

describe('CSV formula escaping', () => {
  it('is off by default (cells as received) and on with csvEscapeFormulas: text cells starting with = + - @ get a leading quote', async () => {
    const plain = join(dir(), 'formulas.csv');
    const escaped = join(dir(), 'formulas-escaped.csv');
    await exportHostilePage({ file: plain });
    await exportHostilePage({ file: escaped, csvEscapeFormulas: true });
    const read = (file: string) => duckdbRows(`SELECT browser, device_os FROM read_csv(${sqlString(file)}, header = true, all_varchar = true) WHERE request_id IN ('k4', 'k5') ORDER BY request_id`);
    expect(await read(plain)).toEqual([
      ['=1+2', 'Linux'],
      ['-5', '@SUM(A1)'],
    ]);
    expect(await read(escaped)).toEqual([
      ["'=1+2", 'Linux'],
      ["'-5", "'@SUM(A1)"],
    ]);
  });

  it('--csv-escape-formulas on the CLI; refused where there is no CSV file', async () => {
    const file = join(dir(), 'cli-formulas.csv');
    const page = hostilePageText();
    server = await startTestServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(req.url?.includes('checkpoint=') ? '{"batchSize":100,"checkpoint":"cGFnZS0x","results":[]}' : page);
    });
    const cli = captureCli({ env: { INNERWORKS_API_KEY: 'independent-key', INNERWORKS_BASE_URL: server.url } });
    expect(await cli.run('export', '--out', file, '--csv-escape-formulas')).toBe(EXIT.ok);
    expect(await duckdbRows(`SELECT browser FROM read_csv(${sqlString(file)}, header = true, all_varchar = true) WHERE request_id = 'k4'`)).toEqual([["'=1+2"]]);
    const refused = captureCli({ env: { INNERWORKS_API_KEY: 'independent-key', INNERWORKS_BASE_URL: server.url } });
    expect(await refused.run('export', '--out', '-', '--csv-escape-formulas')).toBe(EXIT.usage);
    expect(refused.err()).toContain('--csv-escape-formulas is for --out FILE.csv');
    await expect(exportInferenceResults({ apiKey: 'k', baseUrl: server.url, file: join(dir(), 'x.parquet'), csvEscapeFormulas: true })).rejects.toThrow(/csvEscapeFormulas/);
  });

  it('csvWriter({escapeFormulas}) for any object stream', async () => {
    const file = join(dir(), 'writer.csv');
    await pipeline(Readable.from([{ formula: '=HYPERLINK("http://x")', count: -3 }]), csvWriter({ file, escapeFormulas: true }));
    expect(await readFile(file, 'utf8')).toBe(`formula,count,extras\r\n"'=HYPERLINK(""http://x"")",-3,\r\n`);
  });

  it('leaves numbers, times and JSON alone', () => {
    const mapping = innerworksMapping();
    const record = { requestId: '+1', projectId: 'p', timestamp: '2024-01-01T00:00:00Z', result: { extra: '-x' } };
    expect(csvRows(mapping, [record], { escapeFormulas: true })).toBe(`'+1,p,2024-01-01T00:00:00.000Z,,,,,,,,,,,,,,"{""result"":{""extra"":""-x""}}"\r\n`);
  });
});

describe('the timestamp column takes only RFC 3339 date-times with a zone', () => {
  const cases: [string, number | undefined][] = [
    ['2024-01-01T10:00:00Z', Date.UTC(2024, 0, 1, 10)],
    ['2024-01-01t10:00:00z', Date.UTC(2024, 0, 1, 10)],
    ['2024-01-01 10:00:00+00:00', Date.UTC(2024, 0, 1, 10)],
    ['2024-01-01T10:00:00-05:30', Date.UTC(2024, 0, 1, 15, 30)],
    ['2024-01-01T10:00:00.1Z', Date.UTC(2024, 0, 1, 10, 0, 0, 100)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
    ['0099-12-31T23:59:59.999Z', new Date(0).setUTCFullYear(99, 11, 31) + 86_399_999],
    ['9999-12-31T23:59:59.999Z', Date.UTC(9999, 11, 31, 23, 59, 59, 999)],
    ['9999-12-31T23:00:00-01:00', undefined], // year 10000 in UTC
    ['1900-02-29T00:00:00Z', undefined],
    ['2024-04-31T00:00:00Z', undefined],
    ['2024-13-01T00:00:00Z', undefined],
    ['2024-01-01T24:00:00Z', undefined],
    ['2024-01-01T10:00:00+24:00', undefined],
    ['2024-01-01T10:00Z', undefined],
    ['2024-01-01', undefined],
    ['2024-01-01T10:00:00+0100', undefined],
    ['0000-01-01T00:00:00Z', undefined],
    [' 2024-01-01T10:00:00Z', undefined],
    ['2024-01-01T10:00:00.1230Z', Date.UTC(2024, 0, 1, 10, 0, 0, 123)],
    ['2024-01-01T10:00:00.1234Z', undefined],
    ['2024-01-01T10:00:00.Z', undefined],
    ['2024-01-01T10:00:00Zx', undefined],
    ['2024-01-01T10:00:00+01:00x', undefined],
    ['2024-01-01T10:00:00+1:00', undefined],
    ['2024-1-01T10:00:00Z', undefined],
    ['abcd-01-01T10:00:00Z', undefined],
    ['2024-01-01T10:0a:00Z', undefined],
    ['2024-01-01T10:00:00', undefined],
    ['2024-01-01T10:00:00.000000000000Z', Date.UTC(2024, 0, 1, 10)],
  ];
  for (const [text, ms] of cases) {
    it(`${JSON.stringify(text)} → ${ms === undefined ? 'extras' : new Date(ms).toISOString()}`, () => {
      expect(cellOf(text, 'timestamp')).toBe(ms);
    });
  }
  it('a Date is kept when in years 0001–9999; numbers never (seconds or milliseconds?)', () => {
    expect(cellOf(new Date(Date.UTC(2024, 0, 1)), 'timestamp')).toBe(Date.UTC(2024, 0, 1));
    expect(cellOf(new Date(Number.NaN), 'timestamp')).toBeUndefined();
    expect(cellOf(Date.UTC(2024, 0, 1), 'timestamp')).toBeUndefined();
  });
});
