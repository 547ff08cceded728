/** `npm run bench -- NAME --quick` is a smoke run: it must leave the stored results and RESULTS.md alone. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const stored = async () => {
  const files = ['benchmarks/RESULTS.md', ...(await readdir('benchmarks/results')).map((f) => join('benchmarks/results', f))];
  const hashes: Record<string, string> = {};
  for (const file of files) hashes[file] = createHash('sha1').update(await readFile(file)).digest('hex');
  return hashes;
};

describe('benchmarks --quick', () => {
  it('writes to benchmarks/tmp/quick/, never over benchmarks/RESULTS.md or benchmarks/results/', { timeout: 120_000 }, async () => {
    const before = await stored();
    const { stderr } = await promisify(execFile)(process.execPath, ['benchmarks/run.mjs', 'emulator-serve', '--quick']);
    expect(await stored()).toEqual(before);
    expect(stderr).toContain('benchmarks/tmp/quick/RESULTS.md');
    const quick = JSON.parse(await readFile('benchmarks/tmp/quick/results/emulator-serve.json', 'utf8'));
    expect(quick.quick).toBe(true);
    expect(await readFile('benchmarks/tmp/quick/RESULTS.md', 'utf8')).toContain('(with --quick)');
  });
});
