/** `inference-streams predict --in FILE --out FILE|--to DB`: resumable runs, refusals, columns and the --json format, through main(). */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { docs } from './reinfer-helpers.js';
import { captureCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';
import { duckdbRows, sqlString } from './helpers/file-exports.js';

let emulator: Emulator;
const dir = tempDir('predict-into-cli-');
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(async () => {
  await emulator.close();
});

function cli(stdinText = '') {
  return captureCli({ stdinText, env: { ...emulator.env }, signal: new AbortController().signal });
}
const jsonl = (items: unknown[]) => items.map((i) => JSON.stringify(i)).join('\n') + '\n';
const base = ['predict', '--project', 'acme', '--dataset', 'emails'];

describe('predict --in FILE --out FILE (resumable)', () => {
  it('a rerun after the end sends nothing and reports the output format with --json', async () => {
    const input = join(dir(), 'a.jsonl');
    await writeFile(input, jsonl(docs(12)));
    const out = join(dir(), 'a.csv');
    const first = cli();
    expect(await first.run(...base, '--in', input, '--out', out, '--json', '--batch-size', '5')).toBe(EXIT.ok);
    expect(JSON.parse(first.out())).toMatchObject({ format: 'csv', resumable: true, resumed: false, records: 12, documents: 12 });
    const before = emulator.reinfer.documentsReceived();
    const again = cli();
    expect(await again.run(...base, '--in', input, '--out', out, '--json', '--batch-size', '5')).toBe(EXIT.ok);
    expect(JSON.parse(again.out())).toMatchObject({ format: 'csv', resumed: true, records: 12, documents: 0 });
    expect(emulator.reinfer.documentsReceived()).toBe(before);
    expect((await readFile(out, 'utf8')).split('\r\n')[0]).toBe('id,top_label,top_probability,labels,entities,sentiment,model_version,extras');
  });

  it('--columns, --id-field and --keep-input choose the columns; --format names the output format', async () => {
    const input = join(dir(), 'b.jsonl');
    await writeFile(input, jsonl(docs(3).map((d) => ({ ...d, ref: `r${d.id}` }))));
    const out = join(dir(), 'b.out');
    const c = cli();
    expect(await c.run(...base, '--in', input, '--out', out, '--format', 'csv', '--columns', 'id,top_label,input', '--id-field', 'ref', '--json')).toBe(EXIT.ok);
    expect(JSON.parse(c.out())).toMatchObject({ format: 'csv' });
    const rows = (await readFile(out, 'utf8')).split('\r\n');
    expect(rows[0]).toBe('id,top_label,input,extras');
    expect(rows[1]).toMatch(/^r0,/);
  });

  it('--out x.parquet with --rows-per-part: parts committed as they fill', async () => {
    const input = join(dir(), 'p.jsonl');
    await writeFile(input, jsonl(docs(5)));
    const out = join(dir(), 'p.parquet');
    const c = cli();
    expect(await c.run(...base, '--in', input, '--out', out, '--rows-per-part', '2', '--batch-size', '2', '--json')).toBe(EXIT.ok);
    expect(JSON.parse(c.out())).toMatchObject({ format: 'parquet', records: 5 });
    const [[rows]] = await duckdbRows(`SELECT count(*) FROM read_parquet(${sqlString(out)})`);
    expect(Number(rows)).toBe(5);
    // --state puts the resume state elsewhere; the rerun finds it there.
    const state = join(dir(), 'elsewhere.state.json');
    const out2 = join(dir(), 'q.jsonl');
    expect(await cli().run(...base, '--in', input, '--out', out2, '--state', state)).toBe(EXIT.ok);
    expect(JSON.parse(await readFile(state, 'utf8'))).toBeTruthy();
    const again = cli();
    expect(await again.run(...base, '--in', input, '--out', out2, '--state', state, '--json')).toBe(EXIT.ok);
    expect(JSON.parse(again.out())).toMatchObject({ resumed: true, documents: 0 });
  });

  it('refuses a changed input and changed settings on resume, naming what changed', async () => {
    const input = join(dir(), 'c.jsonl');
    await writeFile(input, jsonl(docs(5)));
    const out = join(dir(), 'c.jsonl.out');
    expect(await cli().run(...base, '--in', input, '--out', out, '--format', 'jsonl')).toBe(EXIT.ok);
    const threshold = cli();
    expect(await threshold.run(...base, '--in', input, '--out', out, '--format', 'jsonl', '--threshold', '0.6')).not.toBe(EXIT.ok);
    expect(threshold.err()).toMatch(/threshold.*differs from the run being resumed/);
    const version = cli();
    expect(await version.run(...base, '--in', input, '--out', out, '--format', 'jsonl', '--version', '3')).not.toBe(EXIT.ok);
    expect(version.err()).toMatch(/version.*differs/);
    await appendFile(input, jsonl(docs(1)));
    const changed = cli();
    expect(await changed.run(...base, '--in', input, '--out', out, '--format', 'jsonl')).not.toBe(EXIT.ok);
    expect(changed.err()).toMatch(/is not the file the predictions .* were made from \(size/);
  });

  it('a JSON array file resumes too ([...] and {"data": [...]}, --json-path); --unordered still does not', async () => {
    const input = join(dir(), 'e.json');
    await writeFile(input, JSON.stringify(docs(12), null, 2));
    const out = join(dir(), 'e.jsonl');
    const first = cli();
    expect(await first.run(...base, '--in', input, '--out', out, '--json', '--batch-size', '5')).toBe(EXIT.ok);
    expect(first.err()).not.toMatch(/not resumable/);
    expect(JSON.parse(first.out())).toMatchObject({ format: 'jsonl', inputFormat: 'json', resumable: true, resumed: false, records: 12, documents: 12 });
    const before = emulator.reinfer.documentsReceived();
    const again = cli();
    expect(await again.run(...base, '--in', input, '--out', out, '--json', '--batch-size', '5')).toBe(EXIT.ok);
    expect(JSON.parse(again.out())).toMatchObject({ resumed: true, records: 12, documents: 0 });
    expect(emulator.reinfer.documentsReceived()).toBe(before);
    expect((await readFile(out, 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as { input: { id: number } }).input.id)).toEqual(docs(12).map((d) => d.id));

    const wrapped = join(dir(), 'e-wrapped');
    await writeFile(wrapped, JSON.stringify({ items: docs(4), note: 'x' }));
    const keyed = cli();
    expect(await keyed.run(...base, '--in', wrapped, '--json-path', 'items', '--out', join(dir(), 'e-wrapped.csv'), '--json')).toBe(EXIT.ok);
    expect(JSON.parse(keyed.out())).toMatchObject({ format: 'csv', resumable: true, records: 4 });
    const jsonlPath = cli();
    expect(await jsonlPath.run(...base, '--in', join(dir(), 'a.jsonl'), '--json-path', 'items', '--out', join(dir(), 'e-x.csv'))).toBe(EXIT.usage);
    expect(jsonlPath.err()).toMatch(/--json-path reads a JSON document/);

    const unordered = cli();
    expect(await unordered.run(...base, '--in', input, '--out', join(dir(), 'e-unordered.jsonl'), '--unordered', '--json')).toBe(EXIT.ok);
    expect(unordered.err()).toMatch(/--unordered writes predictions out of input order, so .* is not resumable/);
  });

  it('stdin is not resumable: says so and writes the file from the start', async () => {
    const out = join(dir(), 'd.jsonl');
    const c = cli(jsonl(docs(3)));
    expect(await c.run(...base, '--out', out, '--json')).toBe(EXIT.ok);
    expect(c.err()).toMatch(/the input is stdin, so .* is not resumable/);
    expect(JSON.parse(c.out())).toMatchObject({ format: 'jsonl', resumable: false });
    expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(3);
    // The same prediction columns as a resumable run's.
    const csv = join(dir(), 'd.csv');
    const fromStdin = cli(jsonl(docs(2)));
    expect(await fromStdin.run(...base, '--out', csv, '--columns', 'id,top_label,sentiment')).toBe(EXIT.ok);
    expect((await readFile(csv, 'utf8')).split('\r\n').slice(0, 2)).toEqual(['id,top_label,sentiment,extras', expect.stringMatching(/^0,\w/)]);
    const table = cli(jsonl(docs(1)));
    expect(await table.run(...base, '--to', 'duckdb:x.db', '--table', 't')).toBe(EXIT.usage);
    expect(table.err()).toMatch(/--to needs a resumable run/);
  });
});
