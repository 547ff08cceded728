/**
 * DuckDB in a child process of its own, so that its memory is not the exporting process's.
 *
 * Measured (benchmarks/destinations*, 1,000,000 records): loading `@duckdb/node-api` maps ~34 MB
 * of library into a process, an instance ~20 MB more, and a COPY or a commit's working memory
 * ~30-60 MB on top (DuckDB's allocations, outside V8's heap, kept by the allocator after use).
 * In the exporting process that put the Parquet and DuckDB exports at ~290-300 MB peak RSS
 * against ~130 MB for JSONL. The host holds all of it; the exporting process only sends SQL.
 *
 * One request at a time, in order, each answered (a value or an error message). The child runs
 * no code of ours but this file's {@link hostMain} and DuckDB, gets no secrets (a minimal
 * environment), and exits as soon as its parent goes (the IPC channel closes when the parent
 * dies, however it dies), releasing the database file's lock for the next run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { importOptional } from './optional.js';

/** A value bound to a statement parameter. */
export type HostValue = string | number | boolean | null;

/** A statement and its parameters. */
export interface HostStatement {
  sql: string;
  values?: HostValue[];
}

interface Request {
  id: number;
  op: 'open' | 'run' | 'rows' | 'transaction' | 'close';
  path?: string;
  config?: Record<string, string>;
  sql?: string;
  values?: HostValue[];
  statements?: HostStatement[];
  guard?: HostStatement;
}

interface Answer {
  id: number;
  result?: unknown;
  error?: string;
}

/** What the hosts of this process reported at their close: what the benchmarks show beside the exporting process's own. */
const hostUsage = { peakRssMb: 0, cpuMs: 0 };

/**
 * The DuckDB host processes this process has closed so far: the largest peak RSS (MB) and their
 * CPU time (user + system, ms), summed. For benchmarks: the memory and CPU that left the process.
 */
export function duckdbHostUsage(): { peakRssMb: number; cpuMs: number } {
  return { ...hostUsage };
}

/** Environment variables the host may see: what DuckDB and Node need, never an API key or password. */
const HOST_ENV = ['PATH', 'HOME', 'TMPDIR', 'TZ', 'LANG', 'LC_ALL', 'SystemRoot'];

/** A lock conflict on open is retried this long: a killed run's host may still be exiting. */
const LOCK_RETRY_MS = 3000;

/**
 * Where `@duckdb/node-api` is, without loading it here (loading it is what costs memory). Node's
 * ESM resolver where there is one (so its resolve hooks apply, as they would to an import),
 * require's under a test runner that has no `import.meta.resolve`.
 */
async function driverPath(option: string, purpose: string): Promise<string> {
  return importOptional('@duckdb/node-api', option, purpose, async () =>
    typeof import.meta.resolve === 'function' ? fileURLToPath(import.meta.resolve('@duckdb/node-api')) : createRequire(import.meta.url).resolve('@duckdb/node-api'),
  );
}

/** A DuckDB database opened in a child process. */
export class DuckdbHost {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  #next = 1;
  #gone: Error | undefined;
  readonly #exited: Promise<void>;

  private constructor(driver: string) {
    const env: NodeJS.ProcessEnv = {};
    for (const name of HOST_ENV) if (process.env[name] !== undefined) env[name] = process.env[name];
    this.#child = spawn(process.execPath, ['-e', `(${hostMain.toString()})(${JSON.stringify(driver)})`], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
      env,
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.on('message', (message: Answer) => this.#answer(message));
    this.#child.on('error', (error) => this.#end(new Error(`the DuckDB process could not run: ${error.message}`)));
    this.#child.on('exit', (code, signal) => this.#end(new Error(`the DuckDB process (pid ${this.#child.pid}) ended ${signal ? `by signal ${signal}` : `with exit code ${code}`}`)));
    this.#idle();
  }

  /**
   * Start a host and open `path` (a file or `:memory:`) with `config` there. A missing
   * `@duckdb/node-api` is a ConfigError naming `option` and the npm command; a database file
   * locked by another process is retried for a few seconds (a killed run's host exiting).
   */
  static async open(path: string, config: Record<string, string>, option: string, purpose: string): Promise<DuckdbHost> {
    const driver = await driverPath(option, purpose);
    const deadline = Date.now() + LOCK_RETRY_MS;
    const host = new DuckdbHost(driver);
    for (;;) {
      try {
        // No cache of files read: a stage file is rewritten under the same name for each page,
        // and what was read once is not read again (the cache would only hold memory).
        await host.#request({ op: 'open', path, config: { enable_external_file_cache: 'false', ...config } });
        return host;
      } catch (error) {
        if (!/lock/i.test((error as Error).message) || Date.now() > deadline || host.#gone) {
          await host.close();
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Run a statement; how many rows it changed. */
  async run(sql: string, values?: HostValue[]): Promise<number> {
    return Number(await this.#request({ op: 'run', sql, values }));
  }

  /** Run a statement; its rows as objects (BIGINT as bigint). */
  async rows(sql: string, values?: HostValue[]): Promise<Record<string, unknown>[]> {
    return (await this.#request({ op: 'rows', sql, values })) as Record<string, unknown>[];
  }

  /**
   * BEGIN, `statements`, then `guard` (when given), and COMMIT only when the guard changed
   * exactly one row, in one round trip; ROLLBACK when it did not or a statement failed (the error
   * is then the statement's). Resolves the guard's changed count (1 without a guard).
   */
  async transaction(statements: HostStatement[], guard?: HostStatement): Promise<number> {
    return Number(await this.#request({ op: 'transaction', statements, guard }));
  }

  /** Close the database and end the process (idempotent; a dead host is just gone). */
  async close(): Promise<void> {
    if (!this.#gone) {
      const usage = (await this.#request({ op: 'close' }).catch(() => undefined)) as NodeJS.ResourceUsage | undefined;
      if (usage) {
        hostUsage.peakRssMb = Math.max(hostUsage.peakRssMb, usage.maxRSS / 1024);
        hostUsage.cpuMs += (usage.userCPUTime + usage.systemCPUTime) / 1000;
      }
      if (this.#child.connected) this.#child.disconnect();
    }
    // Referenced until it has exited: the exporting process waits for the file's lock to go.
    this.#child.ref();
    await this.#exited;
  }

  #request(request: Omit<Request, 'id'>): Promise<unknown> {
    if (this.#gone) return Promise.reject(this.#gone);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // Referenced while a request is out, so the exporting process waits for its answer.
      this.#child.ref();
      this.#child.channel?.ref();
      this.#child.send({ ...request, id } satisfies Request, (error) => {
        if (error) this.#end(new Error(`the DuckDB process (pid ${this.#child.pid}) cannot be reached: ${error.message}`));
      });
    });
  }

  #answer(message: Answer): void {
    const waiting = this.#pending.get(message.id);
    if (!waiting) return;
    this.#pending.delete(message.id);
    if (message.error !== undefined) waiting.reject(new Error(message.error));
    else waiting.resolve(message.result);
    if (this.#pending.size === 0) this.#idle();
  }

  /** Nothing out: an idle host does not keep the exporting process alive. */
  #idle(): void {
    this.#child.unref();
    this.#child.channel?.unref();
  }

  #end(error: Error): void {
    this.#gone ??= error;
    for (const waiting of this.#pending.values()) waiting.reject(this.#gone);
    this.#pending.clear();
  }
}

/**
 * The child's whole program (run by `node -e`, so it must not use anything outside its body):
 * answer each request in turn; exit when the parent disconnects.
 */
function hostMain(driver: string): void {
  type Duck = typeof import('@duckdb/node-api');
  let instance: import('@duckdb/node-api').DuckDBInstance | undefined;
  let connection: import('@duckdb/node-api').DuckDBConnection | undefined;
  let turn: Promise<void> = Promise.resolve();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (request: Request) => {
    turn = turn.then(async () => {
      let answer: Answer;
      try {
        let result: unknown = null;
        if (request.op === 'open') {
          const duckdb = require(driver) as Duck;
          instance = await duckdb.DuckDBInstance.create(request.path, request.config);
          connection = await instance.connect();
        } else if (request.op === 'run') {
          result = (await connection!.run(request.sql!, request.values)).rowsChanged;
        } else if (request.op === 'rows') {
          result = (await connection!.runAndReadAll(request.sql!, request.values)).getRowObjects();
        } else if (request.op === 'transaction') {
          await connection!.run('BEGIN TRANSACTION');
          try {
            for (const statement of request.statements!) await connection!.run(statement.sql, statement.values);
            result = request.guard ? (await connection!.run(request.guard.sql, request.guard.values)).rowsChanged : 1;
            await connection!.run(Number(result) === 1 ? 'COMMIT' : 'ROLLBACK');
          } catch (error) {
            await connection!.run('ROLLBACK').catch(() => undefined);
            throw error;
          }
        } else {
          connection?.closeSync();
          instance?.closeSync();
          connection = undefined;
          instance = undefined;
          result = process.resourceUsage();
        }
        answer = { id: request.id, result };
      } catch (error) {
        answer = { id: request.id, error: String((error as Error)?.message ?? error) };
      }
      if (process.connected) process.send!(answer);
    });
  });
}
