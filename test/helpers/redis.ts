/**
 * A throwaway redis-server for one test file: a temp dir, a random port on 127.0.0.1, and (by
 * default) no persistence; stopped and removed afterwards. `.ci/run` installs Debian's
 * redis-server when it is missing. `restart()` stops the server and starts it again on the same
 * port, keeping its data only when `persist` was asked for (an append-only file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface RedisServer {
  url: string;
  port: number;
  /** Stop (like a crash: no final save beyond the append-only file) and start again on the same port. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** `password`: the server requires it (`requirepass`); `url` then carries it, `redis://:PASSWORD@…`. */
export async function startRedis(options: { persist?: boolean; password?: string } = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--protected-mode', 'no', '--loglevel', 'warning'];
  args.push('--appendonly', options.persist ? 'yes' : 'no');
  if (options.persist) args.push('--appendfsync', 'always');
  if (options.password !== undefined) args.push('--requirepass', options.password);
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    const failed = once(child, 'exit').then(([code]) => {
      throw new Error(`redis-server exited with code ${code} (is it installed? apt-get install -y redis-server)`);
    });
    failed.catch(() => undefined);
    await Promise.race([waitForPort(port), failed]);
  };
  const stopChild = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: options.password === undefined ? `redis://127.0.0.1:${port}` : `redis://:${encodeURIComponent(options.password)}@127.0.0.1:${port}`,
    port,
    async restart(downMs = 500) {
      await stopChild();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    async stop() {
      await stopChild();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' }, () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server did not listen on ${port}`);
}
