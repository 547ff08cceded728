import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointFile } from '../src/core/checkpoint.js';

describe('CheckpointFile', () => {
  it('loads nothing at first, then the last saved state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'is-ckpt-'));
    const file = new CheckpointFile<{ n: number }>(join(dir, 'state.json'));
    expect(await file.load()).toBeUndefined();
    await file.save({ n: 1 });
    await file.save({ n: 2 });
    expect(await file.load()).toEqual({ n: 2 });
    expect(await readdir(dir)).toEqual(['state.json']);
    await file.remove();
    expect(await file.load()).toBeUndefined();
  });

  it.skipIf(process.platform === 'win32')('writes the state readable by its owner only (0600), also over a 0644 state or temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'is-ckpt-'));
    const path = join(dir, 'state.json');
    await writeFile(path, '{}', { mode: 0o644 });
    await writeFile(join(dir, `.state.json.${process.pid}.tmp`), 'left by a crash', { mode: 0o644 });
    const file = new CheckpointFile<{ uploadUrl: string }>(path);
    await file.save({ uploadUrl: 'https://bucket.example/part?X-Amz-Signature=secret' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await file.save({ uploadUrl: 'https://bucket.example/part?X-Amz-Signature=other' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('ignores a half-written temp file left by a crash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'is-ckpt-'));
    const path = join(dir, 'state.json');
    const file = new CheckpointFile<{ checkpoint: string }>(path);
    await file.save({ checkpoint: 'good' });
    // A crash between write and rename leaves a torn temp file beside the real one.
    await writeFile(join(dir, '.state.json.99999.tmp'), '{"checkpoint":"ha');
    await writeFile(join(dir, `.state.json.${process.pid}.tmp`), '{"checkp');
    expect(await file.load()).toEqual({ checkpoint: 'good' });
    await file.save({ checkpoint: 'next' });
    expect(await file.load()).toEqual({ checkpoint: 'next' });
  });

  it('removes the temp files of writers killed mid-save (kill -9) at the next load, never a live writer\'s', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'is-ckpt-'));
    const path = join(dir, 'x.state.json');
    await writeFile(path, '{"n":1}');
    // Real processes: one killed with SIGKILL (its pid is gone), one still running.
    const sleeper = () => spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    const killed = sleeper();
    const alive = sleeper();
    try {
      const exited = once(killed, 'exit');
      killed.kill('SIGKILL');
      await exited;
      const host = hostname().replace(/[^A-Za-z0-9.-]/g, '_');
      const dead = `.x.state.json.${killed.pid}@${host}.tmp`;
      const live = `.x.state.json.${alive.pid}@${host}.tmp`;
      // A dead pid here may be a live writer on another host sharing the directory (NFS): kept.
      const otherHost = `.x.state.json.${killed.pid}@elsewhere.example.tmp`;
      // Written by an older version (no host in the name): checked on this host, as it was then.
      const legacy = `.x.state.json.${killed.pid}.tmp`;
      await writeFile(join(dir, dead), '{"n":2, "uploadUrl": "https://bucket.example/p?X-Amz-Signature=secret"');
      await writeFile(join(dir, live), '{"n":');
      await writeFile(join(dir, otherHost), '{"n":');
      await writeFile(join(dir, legacy), '{"n":');
      // Another state's temp file in the same directory is not this state's to remove.
      await writeFile(join(dir, `.other.json.${killed.pid}.tmp`), 'x');
      expect(await new CheckpointFile<{ n: number }>(path).load()).toEqual({ n: 1 });
      expect((await readdir(dir)).sort()).toEqual([`.other.json.${killed.pid}.tmp`, live, otherHost, 'x.state.json'].sort());
    } finally {
      alive.kill('SIGKILL');
    }
  });

  it('refuses a state file that is not JSON rather than guessing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'is-ckpt-'));
    const path = join(dir, 'state.json');
    await writeFile(path, 'garbage');
    await expect(new CheckpointFile(path).load()).rejects.toThrow(/delete it to start over/);
  });
});
