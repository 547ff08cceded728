/**
 * Every ```ts block in README.md is run here against the emulator, so the user guide cannot rot.
 * Blocks import the package by name ('inference-streams', 'inference-streams/emulator'); vitest
 * resolves those to src/ (see vitest.config.ts). A block starts and closes its own emulator.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

  it('type-checks every example against the public types (strict)', async () => {
    const dir = join(scratch, 'typecheck');
    await mkdir(dir, { recursive: true });
    const files = await Promise.all(
      blocks.map(async (code, index) => {
        const file = join(dir, `example-${index + 1}.ts`);
        await writeFile(file, `${code}\nexport {};\n`);
        return file;
      }),
    );
    const tsconfig = {
      extends: join(root, 'tsconfig.json'),
      compilerOptions: {
        noEmit: true,
        rootDir: root,
        paths: { 'inference-streams': [join(root, 'src/index.ts')], 'inference-streams/emulator': [join(root, 'src/emulator/index.ts')] },
      },
      include: [],
      files,
    };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    const result = await promisify(execFile)(tsc, ['-p', join(dir, 'tsconfig.json')]).then(
      () => '',
      (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
    );
    expect(result).toBe('');
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
