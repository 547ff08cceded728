import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { captureCli } from './helpers/cli.js';

async function runDemo(args: string[]) {
  const cli = captureCli({ verbose: true });
  const code = await cli.run('demo', ...args);
  return { code, out: cli.out(), err: cli.err() };
}

const lines = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));

describe('demo', () => {
  it('runs end to end under injected faults, every record exactly once, and again from a clean start', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'is-demo-'));
    const args = ['--records', '12000', '--predict', '1500', '--out-dir', outDir, '--faults', 'rate=0.05,kinds=429,503,reset,truncate,retry-after-ms=5'];
    for (let run = 0; run < 2; run++) {
      const { code, out, err } = await runDemo([...args, '--json']);
      expect(err).not.toMatch(/Error/);
      expect(code).toBe(EXIT.ok);
      const summary = JSON.parse(out);
      expect(summary.export.records).toBe(12000);
      expect(summary.predict.predicted).toBe(1500);
      expect(summary.import.objects).toBe(1500);
      expect(summary.results.objects).toBe(1500);

      const results = await lines(join(outDir, 'results.jsonl'));
      expect(results).toHaveLength(12000);
      expect(new Set(results.map((r) => r.requestId)).size).toBe(12000);
      const predictions = await lines(join(outDir, 'predictions.jsonl'));
      expect(predictions.map((p) => p.input.id)).toEqual(results.slice(0, 1500).map((r) => r.requestId));
      const outputs = await lines(join(outDir, 'safetykit-results.jsonl'));
      expect(outputs.map((o) => o.id).sort()).toEqual(results.slice(0, 1500).map((r) => r.requestId).sort());
    }
  });

  it('prints a summary table naming the files', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'is-demo-'));
    const { code, out } = await runDemo(['--records', '3000', '--predict', '100', '--out-dir', outDir, '--faults', 'none']);
    expect(code).toBe(EXIT.ok);
    expect(out).toMatch(/Innerworks export\s+3,000/);
    expect(out).toMatch(/Reinfer predict\s+100/);
    expect(out).toContain(join(outDir, 'safetykit-results.jsonl'));
  });

  it('refuses bad flags with exit 2', async () => {
    expect((await runDemo(['--records', '0'])).code).toBe(EXIT.usage);
    expect((await runDemo(['--faults', 'kinds=teapot'])).code).toBe(EXIT.usage);
  });
});
