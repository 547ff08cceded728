/**
 * Run a CLI command again and again, SIGKILLing it at random moments, until it has been killed
 * `minKills` times and then finishes on its own: what a crash-looping job does to an export.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Compile src/ into a private directory for the children to run (no race with a dist/ being
 * rebuilt meanwhile), one level below package.json as dist/ is (core/version.js reads
 * ../../package.json). Returns the CLI entry point and how to remove the build.
 */
export async function privateBuild(name: string): Promise<{ cli: string; remove(): Promise<void> }> {
  const out = join(ROOT, `.${name}-build-${process.pid}`);
  await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out]).catch(() => undefined);
  const cli = join(out, 'cli', 'main.js');
  if (!existsSync(cli)) throw new Error(`the private build in ${out} has no cli/main.js`);
  return { cli, remove: () => rm(out, { recursive: true, force: true }) };
}

/**
 * Registers hooks that make a {@link privateBuild} before the file's tests and remove it after;
 * call the returned function inside a test for the CLI entry point.
 */
export function usePrivateBuild(name: string): () => string {
  let build: Awaited<ReturnType<typeof privateBuild>> | undefined;
  beforeAll(async () => {
    build = await privateBuild(name);
  }, 120_000);
  afterAll(async () => {
    await build?.remove();
  });
  return () => {
    if (!build) throw new Error('usePrivateBuild() is only available inside tests');
    return build.cli;
  };
}

export interface KillLoopOptions {
  /** The CLI entry point (see privateBuild). */
  cli: string;
  /** Arguments after `inference-streams`. */
  args: string[];
  /** The child's environment (added to PATH and HOME). */
  env: Record<string, string>;
  /** Kills before the command may finish. */
  minKills: number;
  /** How long to let a run go before killing it, ms (called per run). */
  killAfterMs: () => number;
  /** Called after each kill (e.g. to check the destination). */
  afterKill?: (kills: number) => Promise<void>;
}

export interface KillLoopResult {
  kills: number;
  runs: number;
  /** stdout of the run that finished. */
  stdout: string;
  /** stderr of every run, for messages on failure. */
  stderr: string;
}

/** Spawn `cli …args` until it exits 0 after `minKills` kills (at most 60 runs). */
export async function killLoop(options: KillLoopOptions): Promise<KillLoopResult> {
  let kills = 0;
  let stderr = '';
  for (let runs = 1; runs <= 60; runs++) {
    const child = spawn(process.execPath, [options.cli, ...options.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    if (kills < options.minKills) {
      await Promise.race([new Promise((resolve) => setTimeout(resolve, options.killAfterMs())), exited]);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        const [, signal] = await exited;
        if (signal !== 'SIGKILL') throw new Error(`run ${runs} was to be killed but ended with ${signal}\n${stderr}`);
        kills++;
        await options.afterKill?.(kills);
        continue;
      }
    }
    const [code, signal] = await exited;
    if (code !== 0) throw new Error(`run ${runs} exited with ${code ?? signal}\n${stderr}`);
    if (kills < options.minKills) throw new Error(`the export finished after only ${kills} kills: give it more records or latency`);
    return { kills, runs, stdout, stderr };
  }
  throw new Error(`the export did not finish after ${kills} kills\n${stderr}`);
}
