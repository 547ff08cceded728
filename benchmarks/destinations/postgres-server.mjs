// A throwaway PostgreSQL 15 cluster for the destination benchmarks (the benchmark twin of
// test/helpers/postgres.ts): initdb in a temp dir, socket there, a free port on 127.0.0.1,
// trust auth (loopback only). As root, initdb and postgres run as the `postgres` user.
// Prints {"url", "env"} as its first line (lib.mjs startServerProcess), stops and removes the
// cluster on SIGTERM.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pgRoot = '/usr/lib/postgresql';
const bin =
  process.env.PG_BIN ??
  join(pgRoot, existsSync(join(pgRoot, '15')) ? '15' : (readdirSync(pgRoot).sort((a, b) => Number(b) - Number(a))[0] ?? '15'), 'bin');
const root = process.getuid?.() === 0;
const prefix = root ? ['runuser', '-u', 'postgres', '--'] : [];
const run = (file, args) => execFileSync(prefix[0] ?? file, [...prefix.slice(1), ...(prefix.length ? [file] : []), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
const dir = mkdtempSync(join(tmpdir(), 'pg-bench-'));
if (root) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'])), Number(execFileSync('id', ['-g', 'postgres'])));
const data = join(dir, 'data');
const port = await new Promise((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});
run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
// Durability settings left at their defaults (fsync on): the benchmark measures real commits.
run(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, '-w', 'start']);
const stop = () => {
  try {
    run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
process.stdout.write(`${JSON.stringify({ url, env: { DATABASE_URL: url } })}\n`);
setInterval(() => {}, 1 << 30);
