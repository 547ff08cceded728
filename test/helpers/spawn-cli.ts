/** Spawn the built CLI (dist/cli/main.js, built by `npm test`) as a user's shell would, output captured. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';

export interface SpawnedCli {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the exit code (null when a signal ended it) and the signal. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  out(): string;
  err(): string;
  /** Send `signal` (if it still runs) and wait for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** `stdinText` is what the command reads on stdin (default: none, stdin closed at once). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, stdinText = ''): SpawnedCli {
  const child = spawn(process.execPath, ['dist/cli/main.js', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  child.stdin.end(stdinText);
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    exited,
    out: () => out,
    err: () => err,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}
