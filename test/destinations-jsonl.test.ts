// The JSONL destination behind the interface: `inference-streams export --out x.jsonl` (and
// `--format jsonl` on any name) against the emulator with 20 % faults, SIGKILLed at random and
// resumed, is byte-identical to a one-shot export and to JSON.stringify of each record, the
// output of the export before destinations existed.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatOf } from '../src/destinations/index.js';
import { FAULTS, oneShot } from './helpers/file-exports.js';
import { emulatorPerTest, sha256 } from './helpers/destination-tests.js';
import { killLoop, usePrivateBuild } from './helpers/kill-loop.js';
import { tempDir } from './helpers/temp-dir.js';

const startEmulator = emulatorPerTest();
const cli = usePrivateBuild('destinations-jsonl');
const dir = tempDir('destinations-jsonl-');

describe('JSONL destination', () => {
  it('survives 20 % faults and 5+ SIGKILLs of the CLI: byte-identical to a one-shot export and to one JSON.stringify per line', async () => {
    const records = 3000;
    const emulator = await startEmulator({ records, latencyMs: 5, faults: FAULTS });
    // No .jsonl extension: --format says it.
    const file = join(dir(), 'killed.out');
    const state = `${file}.state.json`;
    const invariant = async () => {
      const saved = await readFile(state, 'utf8').then((text) => JSON.parse(text) as { bytes: number; records: number }, () => undefined);
      if (!saved) return;
      const counted = (await readFile(file)).subarray(0, saved.bytes).toString();
      expect(counted.split('\n').length - 1).toBe(saved.records);
    };
    const result = await killLoop({
      cli: cli(),
      args: ['export', '--out', file, '--format', 'jsonl', '--batch-size', '40', '--json'],
      env: { ...emulator.env },
      minKills: 5,
      killAfterMs: () => 250 + Math.random() * 700,
      afterKill: invariant,
    });
    expect(result.kills).toBeGreaterThanOrEqual(5);
    expect(emulator.stats()['innerworks.batch'].faults).toBeGreaterThan(0);
    const reference = join(dir(), 'one-shot.jsonl');
    await oneShot(emulator, reference);
    expect(await sha256(file)).toBe(await sha256(reference));
    let expected = '';
    for (let i = 0; i < records; i++) expected += `${JSON.stringify(JSON.parse(emulator.innerworks.recordJson(i)))}\n`;
    expect(await readFile(file, 'utf8')).toBe(expected);
  });

  it('takes the format from the file name: .csv, .parquet and DIR/ are tabular, anything else JSONL', () => {
    expect(['a.jsonl', 'a.json', 'results', 'a.CSV', 'a.csv', 'a.parquet', 'out/'].map(formatOf)).toEqual(['jsonl', 'jsonl', 'jsonl', 'csv', 'csv', 'parquet', 'parquet']);
  });
});
