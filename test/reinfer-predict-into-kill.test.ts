// `inference-streams predict --in docs.jsonl|docs.json --out x.jsonl|x.csv`, SIGKILLed at random moments
// under 10 % injected faults and rerun each time: exactly N rows, each input once and in input
// order, byte-identical to a run that was never killed, and the documents paid for bounded by
// N + (kills + 1) × (concurrency + 2) × batch size.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { emulatorPerTest, sha256 } from './helpers/destination-tests.js';
import { killLoop, usePrivateBuild } from './helpers/kill-loop.js';
import { tempDir } from './helpers/temp-dir.js';
import { docs } from './reinfer-helpers.js';

const startEmulator = emulatorPerTest();
const cli = usePrivateBuild('predict-into-kill');
const dir = tempDir('predict-into-kill-');

const N = 5000;
const BATCH = 40;
const CONCURRENCY = 4;
const FAULTS = { rate: 0.1, kinds: ['429', '500', '503', 'reset', 'truncate'] as ('429' | '500' | '503' | 'reset' | 'truncate')[], retryAfterMs: 5, routes: ['reinfer'] };

async function emulatorWithLatency() {
  const emulator = await startEmulator({ port: 0, faults: FAULTS });
  // ~100 ms a batch: a run takes a few seconds, long enough to be killed five times.
  emulator.reinfer.configure({ latencyMs: 40, perDocumentMs: 1.5, jitterMs: 0 });
  return emulator;
}

async function inputFile(): Promise<string> {
  const path = join(dir(), 'docs.jsonl');
  await writeFile(path, `${docs(N).map((d) => JSON.stringify(d)).join('\n')}\n`);
  return path;
}

/** The same inputs as a pretty-printed `{"data": [...]}` document (elements over several lines). */
async function jsonInputFile(): Promise<string> {
  const path = join(dir(), 'docs.json');
  await writeFile(path, JSON.stringify({ data: docs(N), total: N }, null, 2));
  return path;
}

const args = (input: string, out: string) => ['predict', '--project', 'acme', '--dataset', 'emails', '--in', input, '--out', out, '--batch-size', String(BATCH), '--concurrency', String(CONCURRENCY), '--json'];

describe('predict --out FILE survives SIGKILLs', () => {
  for (const [format, input] of [['jsonl', 'jsonl'], ['csv', 'jsonl'], ['jsonl', 'json']] as const) {
    it(`${format} from ${input === 'json' ? 'a {"data": [...]} JSON document' : 'JSONL'}: exactly N rows in input order, byte-identical to an unkilled run, bounded resends`, async () => {
      const emulator = await emulatorWithLatency();
      const inputPath = input === 'json' ? await jsonInputFile() : await inputFile();
      const file = join(dir(), `killed-${input}.${format}`);
      const result = await killLoop({ cli: cli(), args: args(inputPath, file), env: { ...emulator.env }, minKills: 5, killAfterMs: () => 400 + Math.random() * 900 });
      expect(result.kills).toBeGreaterThanOrEqual(5);
      // Not `resumed`: on a loaded machine every kill may land before a run opens its output (Node's
      // start-up alone can take a second); resuming is checked in reinfer-predict-into-cli.
      expect(JSON.parse(result.stdout)).toMatchObject({ records: N, format, resumable: true });
      expect(emulator.stats()['reinfer.predict'].faults).toBeGreaterThan(0);
      const sent = emulator.reinfer.documentsReceived();
      expect(sent).toBeLessThanOrEqual(N + (result.kills + 1) * (CONCURRENCY + 2) * BATCH);

      const ids = format === 'jsonl' ? (await readFile(file, 'utf8')).trimEnd().split('\n').map((line) => (JSON.parse(line) as { input: { id: number } }).input.id) : (parse(await readFile(file), { columns: true }) as { id: string }[]).map((row) => Number(row.id));
      expect(ids).toEqual(Array.from({ length: N }, (_, i) => i));

      emulator.setFaults({ retryAfterMs: 5 });
      const reference = join(dir(), `one-shot-${input}.${format}`);
      const oneShot = await killLoop({ cli: cli(), args: args(inputPath, reference), env: { ...emulator.env }, minKills: 0, killAfterMs: () => 0 });
      expect(oneShot.kills).toBe(0);
      expect(await sha256(file)).toBe(await sha256(reference));
    }, 180_000);
  }
});
