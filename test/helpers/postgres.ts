/**
 * A throwaway PostgreSQL 15 cluster for one test file: initdb in a temp dir, a unix socket in
 * that dir and a random TCP port on 127.0.0.1, stopped and removed afterwards.
 *
 * initdb and postgres refuse to run as root, so when the suite runs as root (CI does) they run
 * as the `postgres` user (Debian's package creates it) through runuser, and the temp dir is
 * handed to that user. TCP logins need a password (scram-sha-256), so wrong-password tests are
 * real; the unix socket trusts the superuser for setup.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/**
 * Where Debian's postgresql puts its binaries (.ci/run installs it when missing): version 15 on
 * these machines, else the newest installed version.
 */
export const PG_BIN = process.env.PG_BIN ?? findPgBin();

function findPgBin(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(join(root, '15', 'bin', 'initdb'))) return join(root, '15', 'bin');
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  return join(root, versions[0] ?? '15', 'bin');
}

export interface PostgresCluster {
  /** 127.0.0.1 */
  host: string;
  port: number;
  /** The login with a password, a superuser of the cluster. */
  user: string;
  password: string;
  /** A database made for the tests. */
  database: string;
  /** `postgres://user:password@127.0.0.1:port/database` */
  url: string;
  /** The unix socket directory (trusted logins as `postgres`). */
  socketDir: string;
  /** Run SQL through psql over the socket as the superuser; returns psql's unaligned output. */
  psql(sql: string, database?: string): Promise<string>;
  /** Run SQL over TCP as `user` (a new connection each time), as another program would; the rows. */
  query<T = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<T[]>;
  /**
   * Stop the server (`pg_ctl stop -m fast`: sessions are terminated, as in a failover), wait
   * `downMs`, and start it again on the same port with the same data.
   */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** A free TCP port on loopback (there is a small race until postgres binds it; start() retries). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface RunAs {
  uid: number | undefined;
  gid: number | undefined;
  /** argv prefix that runs a command as the cluster's owner. */
  prefix: string[];
}

async function owner(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return { uid: undefined, gid: undefined, prefix: [] };
  const id = await run('id', ['-u', 'postgres']).catch(() => {
    throw new Error('The tests run as root and initdb refuses root, but there is no "postgres" user: install Debian\'s postgresql (see .ci/run)');
  });
  const gid = await run('id', ['-g', 'postgres']);
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()), prefix: ['runuser', '-u', 'postgres', '--'] };
}

/** Start a new cluster. Call `stop()` when done (also on failure paths: use afterAll). */
export async function startPostgres(): Promise<PostgresCluster> {
  const as = await owner();
  const dir = await mkdtemp(join(tmpdir(), 'pg-test-'));
  const data = join(dir, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
  const user = 'tester';
  const database = 'exports';
  const exec = (file: string, args: string[]) => {
    const argv = [...as.prefix, file, ...args];
    return run(argv[0], argv.slice(1), { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
  };
  let started = false;
  const stop = async () => {
    if (started) await exec(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    started = false;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const pwfile = join(dir, 'pwfile');
    await writeFile(pwfile, `${password}\n`);
    if (as.uid !== undefined) {
      await chown(dir, as.uid, as.gid!);
      await chown(pwfile, as.uid, as.gid!);
      await chmod(dir, 0o700);
    }
    // The superuser "postgres" trusts the socket; TCP logins (the tests' own) need the password.
    await exec(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
    let port = 0;
    let options = '';
    const startServer = () => exec(join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '60', 'start']);
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      // fsync off: a test cluster need not survive power loss; the tests kill clients, not the server.
      options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=50`;
      const result = await startServer().then(
        () => undefined,
        (error: unknown) => error,
      );
      if (result === undefined) break;
      if (attempt >= 3) throw result;
    }
    started = true;
    const psql = async (sql: string, db = 'postgres') => {
      const { stdout } = await exec(join(PG_BIN, 'psql'), ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-XAtq', '-c', sql]);
      return stdout.trim();
    };
    await psql(`CREATE ROLE ${user} LOGIN SUPERUSER PASSWORD '${password}'`);
    await psql(`CREATE DATABASE ${database} OWNER ${user}`);
    const url = `postgres://${user}:${password}@127.0.0.1:${port}/${database}`;
    const query = async <T>(sql: string, values?: unknown[]): Promise<T[]> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(sql, values)).rows as T[];
      } finally {
        await client.end();
      }
    };
    const restart = async (downMs: number) => {
      await exec(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await startServer();
    };
    return { host: '127.0.0.1', port, user, password, database, url, socketDir: dir, psql: (sql, db = database) => psql(sql, db), query, restart, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
