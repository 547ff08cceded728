/**
 * The self-pause's bounds, and a probe that stops with the worker: a pause on a database a job
 * named ends after `maxPauseMs` even while the probe fails; a worker closed while a probe was
 * running does not resume; `checkPostgres` gives up a connect in progress on its signal.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AbortError } from '../src/core/errors.js';
import { checkPostgres } from '../src/destinations/postgres.js';
import type { Outage } from '../src/queue/own-failure.js';
import { SelfPause, type WorkerHealth } from '../src/queue/self-pause.js';

const outage: Outage = { kind: 'database', own: true, target: 'postgres://tester@db.example:5432/x', reason: 'the database refused its login', address: 'postgres://tester@db.example:5432/x' };

function pauser(options: { probe: (signal: AbortSignal) => Promise<void>; maxPauseMs?: number; signal?: AbortSignal }) {
  const calls: string[] = [];
  const changes: WorkerHealth[] = [];
  const selfPause = new SelfPause({
    pause: async () => void calls.push('pause'),
    resume: async () => void calls.push('resume'),
    probe: (_outage, signal) => options.probe(signal),
    maxPauseMs: () => options.maxPauseMs,
    onChange: (health) => void changes.push(health),
    signal: options.signal ?? new AbortController().signal,
  });
  return { selfPause, calls, changes };
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the self-pause', () => {
  it('ends a bounded pause although every probe fails: the worker takes jobs again', async () => {
    const { selfPause, calls } = pauser({ probe: async () => Promise.reject(new Error('password authentication failed')), maxPauseMs: 1500 });
    for (let i = 0; i < 3; i++) await selfPause.failed(outage);
    expect(selfPause.health.state).toBe('paused');
    await until('the pause to end', () => calls.includes('resume'));
    expect(selfPause.health.state).toBe('running');
  });

  it('does not resume a worker closed while its probe ran', async () => {
    const closing = new AbortController();
    let probes = 0;
    const { selfPause, calls } = pauser({
      signal: closing.signal,
      probe: async () => {
        probes++;
        // The worker closes while this probe is under way, and the probe then succeeds.
        closing.abort();
      },
    });
    for (let i = 0; i < 3; i++) await selfPause.failed(outage);
    await until('the probe', () => probes === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(calls).toEqual(['pause']);
  });
});

describe('checkPostgres', () => {
  it('gives up a connect in progress when its signal aborts (a server that never answers)', async () => {
    const sockets: Socket[] = [];
    let closed = 0;
    const silent = createServer((socket) => {
      sockets.push(socket);
      socket.on('close', () => closed++);
      // Read (and drop) what the client sends, so that its end is seen.
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const controller = new AbortController();
      const check = checkPostgres(`postgres://tester@127.0.0.1:${port}/x?connect_timeout=60&sslmode=disable`, controller.signal);
      setTimeout(() => controller.abort(), 200);
      const error = await check.then(() => undefined, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(AbortError);
      // The socket was closed: nothing keeps the process alive.
      await until('the server to see the socket closed', () => sockets.length === 1 && closed === 1, 5000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
