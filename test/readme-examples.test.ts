/**
 * Every ```ts block in README.md is run here against the emulator, so the user guide cannot rot.
 * Blocks import the package by name ('inference-streams', 'inference-streams/emulator'); vitest
 * resolves those to src/ (see vitest.config.ts). A block starts and closes its own emulator.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/index.js';

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

/**
 * Every CLI line of the README's ```sh blocks that mention `inference-streams`, run with bash in
 * one scratch directory against one emulator, in order (a line may use a file an earlier one wrote).
 * Skipped: `export VAR=…` (the emulator's env is used instead), `npm …`, and lines that need `jq`
 * when it is not installed. Needs dist/ (built by `npm test`).
 */
const shellLines = [...readme.matchAll(/^ *```sh\n([\s\S]*?)^ *```/gm)]
  .map((match) => match[1])
  .filter((block) => block.includes('inference-streams'))
  .flatMap((block) => block.replace(/\\\n\s*/g, ' ').split('\n'))
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('export ') && !line.startsWith('npm '));
const hasJq = (() => {
  try {
    execFileSync('jq', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('README CLI examples (sh blocks) against the emulator', () => {
  const dir = join(scratch, 'sh');
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator();
    await mkdir(join(dir, 'bin'), { recursive: true });
    const shim = join(dir, 'bin', 'inference-streams');
    await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${join(root, 'dist', 'cli', 'main.js')}" "$@"\n`);
    await chmod(shim, 0o755);
    // The inputs the examples name, in the shapes the README gives.
    const jsonl = (items: unknown[]) => items.map((item) => JSON.stringify(item)).join('\n') + '\n';
    const objects = jsonl(Array.from({ length: 50 }, (_, i) => ({ id: `item-${i}`, title: `Listing ${i}` })));
    for (const name of ['listings.jsonl', 'users.jsonl', 'big.jsonl', 'items.jsonl']) await writeFile(join(dir, name), objects);
    await writeFile(join(dir, 'listings.json'), JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ id: `item-${i}`, title: `Listing ${i}` })), null, 2));
    await writeFile(join(dir, 'docs.jsonl'), jsonl(Array.from({ length: 20 }, (_, i) => ({ id: `d${i}`, messages: [{ body: { text: `Order ${i} is missing` } }] }))));
    const email = (i: number) => ({ raw_email: { headers: { raw: `From: a@example.com\r\nSubject: Order ${i}\r\n` }, body: { plain: 'Where is it?' } } });
    await writeFile(join(dir, 'emails.jsonl'), jsonl([email(1), email(2)]));
  });
  afterAll(async () => {
    await emulator?.close();
  });

  it('finds the examples', () => {
    expect(shellLines.length).toBeGreaterThan(10);
  });

  for (const line of shellLines) {
    it.skipIf(line.includes('| jq') && !hasJq)(`runs: ${line.length > 100 ? `${line.slice(0, 97)}...` : line}`, { timeout: 120_000 }, async () => {
      const env = { ...process.env, ...emulator.env, PATH: `${join(dir, 'bin')}${delimiter}${process.env.PATH}`, INFERENCE_STREAMS_NO_PROGRESS: '1' };
      const result = await promisify(execFile)('bash', ['-o', 'pipefail', '-c', line], { cwd: dir, env, maxBuffer: 256 * 1024 * 1024 }).then(
        () => '',
        (error: { code?: number; stderr?: string }) => `exit ${error.code}: ${error.stderr ?? ''}`,
      );
      expect(result).toBe('');
    });
  }
});
