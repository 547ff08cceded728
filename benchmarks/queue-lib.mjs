// Shared by the queue benchmarks (queue-export, worker-metrics): a throwaway redis-server and
// worker processes of the built CLI. Not a benchmark itself (run.mjs runs directories only).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './lib.mjs';

export const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'redis-bench-'));
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(true));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
    });
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async close() {
      child.kill('SIGKILL');
      await once(child, 'exit');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A `worker` process; `ready` resolves once it waits for jobs. `extraArgs` are added to its command line. */
export function startWorker(redisUrl, env, extraArgs = []) {
  const child = spawn(process.execPath, [CLI, 'worker', '--queue', redisUrl, '--no-progress', ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr.on('data', (chunk) => (err += chunk));
  const ready = (async () => {
    while (!err.includes('waiting for jobs')) {
      if (child.exitCode !== null) throw new Error(`worker exited: ${err}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const status = () => readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return {
    ready,
    stderr: () => err,
    peakRssMb: () => Number(/VmHWM:\s+(\d+) kB/.exec(status())?.[1] ?? 0) / 1024,
    /** User + system CPU seconds of the process so far (from /proc/PID/stat, clock ticks of 10 ms). */
    cpuSeconds: () => {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
