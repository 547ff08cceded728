/**
 * core/lock-file.ts: one holder at a time; a dead holder's lock (SIGKILL leaves it behind) is
 * taken over; a live one is refused with its pid. core/file-identity.ts: same size and mtime is
 * not the same file.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { identityChange, isDescriptorPath, readFileIdentity } from '../src/core/file-identity.js';
import { acquireLock, LockedError, type FileLock } from '../src/core/lock-file.js';
import { rejection } from './helpers/rejection.js';
import { tempDir } from './helpers/temp-dir.js';

const dir = tempDir('core-lock-');

describe('acquireLock', () => {
  it('refuses a second holder while the first holds it, naming its pid; free again once released', async () => {
    const path = join(dir(), 'a.lock');
    const lock = await acquireLock(path, 'An import of a.json');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    const error = await rejection<LockedError>(acquireLock(path, 'An import of a.json'));
    expect(error).toBeInstanceOf(LockedError);
    expect(error.pid).toBe(process.pid);
    expect(error.message).toContain(`An import of a.json is already running (pid ${process.pid}`);
    expect(error.message).toContain(`delete ${path}`);
    await lock.release();
    expect(existsSync(path)).toBe(false);
    const again = await acquireLock(path, 'x');
    await again.release();
    await again.release();
  });

  it('takes over the lock of a process that died without releasing it (SIGKILL)', async () => {
    const path = join(dir(), 'dead.lock');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    await once(child, 'spawn');
    writeFileSync(path, JSON.stringify({ pid: child.pid, host: hostname(), since: new Date().toISOString() }));
    expect((await rejection<LockedError>(acquireLock(path, 'x'))).pid).toBe(child.pid);
    child.kill('SIGKILL');
    await once(child, 'exit');
    const lock = await acquireLock(path, 'x');
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('of many takers racing for a free lock, exactly one wins', async () => {
    const path = join(dir(), 'race.lock');
    // A dead owner first, so that the racers also race to clear it.
    writeFileSync(path, JSON.stringify({ pid: 4_194_305, host: hostname(), since: 'then' }));
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => acquireLock(path, 'x')));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((result) => result.status === 'rejected').every((result) => (result as PromiseRejectedResult).reason instanceof LockedError)).toBe(true);
  });

  it('does not remove a lock that is no longer its own', async () => {
    const path = join(dir(), 'mine.lock');
    const lock = await acquireLock(path, 'x');
    writeFileSync(path, JSON.stringify({ pid: 1, host: hostname(), since: 'now' }));
    await lock.release();
    expect(existsSync(path)).toBe(true);
  });
});

describe('acquireLock: a lock being written, three runs at once, a directory it cannot write', () => {
  it('a lock whose owner has not written it yet (empty, just made) is held, not taken over', async () => {
    const path = join(dir(), 'fresh-empty.lock');
    writeFileSync(path, '');
    const error = await rejection<LockedError>(acquireLock(path, 'An import of e.json'));
    expect(error).toBeInstanceOf(LockedError);
    expect(error.message).toContain('An import of e.json is already running');
    expect(readFileSync(path, 'utf8')).toBe('');
  });

  it('an unreadable lock untouched for more than a few seconds was left by a dead process: taken over', async () => {
    const path = join(dir(), 'old-empty.lock');
    writeFileSync(path, '{"pid": 12');
    const past = new Date(Date.now() - 60_000);
    utimesSync(path, past, past);
    const lock = await acquireLock(path, 'x');
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('a lock is never seen empty or half written: many racers over a dead owner, again and again, one winner each time', async () => {
    for (let round = 0; round < 20; round++) {
      const path = join(dir(), `many-${round}.lock`);
      writeFileSync(path, JSON.stringify({ pid: 4_194_305, host: hostname(), since: 'then' }));
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => acquireLock(path, 'x')));
      const won = results.filter((result) => result.status === 'fulfilled');
      expect(won).toHaveLength(1);
      expect(results.filter((result) => result.status === 'rejected').every((result) => (result as PromiseRejectedResult).reason instanceof LockedError)).toBe(true);
      expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
      await (won[0] as PromiseFulfilledResult<FileLock>).value.release();
      expect(readdirSync(dir()).filter((name) => name.startsWith(`many-${round}.lock`))).toEqual([]);
    }
  });

  it('removes the temp file a taker killed before linking left (this host, pid gone), never another host\'s', async () => {
    const base = join(dir(), 'litter');
    mkdirSync(base);
    const path = join(base, 'l.lock');
    const host = hostname().replace(/[^A-Za-z0-9.-]/g, '_');
    const dead = `l.lock.0123abcd.4194305@${host}.tmp`;
    const remote = `l.lock.0123abcd.4194305@elsewhere.example.tmp`;
    for (const name of [dead, remote]) writeFileSync(join(base, name), '{"pid": 4194305}');
    const lock = await acquireLock(path, 'x');
    expect(readdirSync(base).sort()).toEqual(['l.lock', remote].sort());
    await lock.release();
  });

  it('importFile() of a file in a directory it may not write: a ConfigError of stateFile naming the lock (not a raw EACCES)', async () => {
    // Root may write anywhere: the import runs as "nobody" in a child, from the built library.
    const base = join(dir(), 'readonly');
    mkdirSync(base);
    writeFileSync(join(base, 'items.jsonl'), '{"id":"a"}\n');
    chmodSync(dir(), 0o755);
    chmodSync(base, 0o555);
    const library = pathToFileURL(join(process.cwd(), 'dist/index.js')).href;
    const script = `import(${JSON.stringify(library)}).then(({ importFile }) => importFile({ file: ${JSON.stringify(join(base, 'items.jsonl'))}, namespace: 'n1', apiKey: 'sk-readonly-0123456789', baseUrl: 'http://127.0.0.1:9' }))
      .then(() => console.log('{}'), (error) => console.log(JSON.stringify({ name: error.name, option: error.option, message: error.message })));`;
    const child = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    await once(child, 'exit');
    const failure = JSON.parse(out);
    expect(failure).toMatchObject({ name: 'ConfigError', option: 'stateFile' });
    expect(failure.message).toContain(`${join(base, 'items.jsonl')}.import-state.json.lock`);
    expect(failure.message).toContain('(option stateFile, --state)');
  });
});

describe('file identity', () => {
  it('tells apart two files of the same size and modification time by a hash of their ends', async () => {
    const path = join(dir(), 'same.jsonl');
    const mtime = new Date('2026-03-04T05:06:07Z');
    writeFileSync(path, `${'a'.repeat(200_000)}\n`);
    utimesSync(path, mtime, mtime);
    const before = await readFileIdentity(path);
    expect(before.isFile).toBe(true);
    expect(identityChange(before, await readFileIdentity(path))).toBeUndefined();

    // A change in the middle (outside both 64 KiB ends) is not seen: the identity is cheap by design.
    writeFileSync(path, `${'a'.repeat(100_000)}b${'a'.repeat(99_999)}\n`);
    utimesSync(path, mtime, mtime);
    expect(identityChange(before, await readFileIdentity(path))).toBeUndefined();

    writeFileSync(path, `${'a'.repeat(199_999)}b\n`);
    utimesSync(path, mtime, mtime);
    const after = await readFileIdentity(path);
    expect([after.size, after.mtimeNs]).toEqual([before.size, before.mtimeNs]);
    expect(identityChange(before, after)).toBe('same size and modification time, but its first or last 64 KiB differ');
    // A state saved before the hash was recorded is compared on size and mtime.
    expect(identityChange({ size: before.size, mtimeNs: before.mtimeNs }, after)).toBeUndefined();
  });

  it('names of descriptors and devices are not files', () => {
    for (const path of ['/dev/stdin', '/dev/fd/0', '/proc/self/fd/0', '/dev/null']) expect(isDescriptorPath(path)).toBe(true);
    for (const path of ['items.jsonl', '/tmp/dev/stdin', '/devices.json']) expect(isDescriptorPath(path)).toBe(false);
  });
});
