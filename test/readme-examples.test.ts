/**
 * Every ```ts block in README.md is run here against the emulator, so the user guide cannot rot.
 * Blocks import the package by name ('inference-streams', 'inference-streams/emulator'); vitest
 * resolves those to src/ (see vitest.config.ts). A block starts and closes its own emulator.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const scratch = join(root, 'test', '.readme-examples');
const readme = await readFile(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('README examples', () => {
  it('has examples to run', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  blocks.forEach((code, index) => {
    const firstLine = code.split('\n').find((line) => line.startsWith('//')) ?? `block ${index + 1}`;
    it(`runs example ${index + 1}: ${firstLine.replace(/^\/\/\s*/, '')}`, async () => {
      await mkdir(scratch, { recursive: true });
      const file = join(scratch, `example-${index + 1}.ts`);
      // Each example runs in its own scratch directory so files it writes do not collide.
      const dir = join(scratch, `run-${index + 1}`);
      await mkdir(dir, { recursive: true });
      const previous = process.cwd();
      process.chdir(dir);
      try {
        await writeFile(file, `${code}\nexport {};\n`);
        await import(file);
      } finally {
        process.chdir(previous);
      }
    });
  });
});
