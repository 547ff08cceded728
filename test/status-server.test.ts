/**
 * The status page's server with a plain HTTP client (no browser): `status --serve` as a process
 * (the built CLI), its /status.json equal to what `status --json` prints, 404s, the loopback
 * default and its Host check, the warning when widened, Redis read at most once a second
 * however many clients poll, a Redis outage said as 503, and a clean stop on SIGTERM.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { networkInterfaces } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { enqueueExport, readStatusDocument, serveStatus, type StatusServer } from '../src/queue/index.js';
import { captureCli } from './helpers/cli.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { spawnCli, type SpawnedCli } from './helpers/spawn-cli.js';
import { waitFor } from './helpers/wait-for.js';

const START = Date.parse('2026-01-01T00:00:00Z');
let redis: RedisServer;
let exportId: string;
const closing: Array<{ close(): Promise<void> }> = [];
const processes: SpawnedCli[] = [];

beforeAll(async () => {
  // Persistent: the outage test restarts it and the job must still be there.
  redis = await startRedis({ persist: true });
  // Enqueueing touches neither the API nor the database: a waiting export, no worker needed.
  ({ exportId } = await enqueueExport({ queue: redis.url, startTime: START, endTime: START + 3_600_000, partitions: 3, to: 'postgres://tester@127.0.0.1:1/nowhere', table: 'never_written', baseUrl: 'http://127.0.0.1:1' }));
});
afterEach(async () => {
  await Promise.allSettled([...closing.splice(0).map((item) => item.close()), ...processes.splice(0).map((cli) => cli.kill('SIGKILL'))]);
});
afterAll(async () => {
  await redis?.stop();
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request with node:http (fetch may not set Host); a fresh connection each time. */
function get(url: string, options: { method?: string; headers?: Record<string, string>; host?: string } = {}): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: options.host ?? target.hostname, port: target.port, path: target.pathname + target.search, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}


/** `status --serve 0 --json …` as a process; resolves when it printed its URL. */
async function serveCli(extra: string[] = []): Promise<{ cli: SpawnedCli; url: string }> {
  const cli = spawnCli(['status', '--queue', redis.url, '--id', exportId, '--serve', '0', '--json', ...extra]);
  processes.push(cli);
  const line = await waitFor('the URL on stdout', () => {
    if (cli.child.exitCode !== null) throw new Error(`status --serve exited with ${cli.child.exitCode}: ${cli.err()}`);
    return cli.out().includes('\n') ? cli.out().split('\n')[0] : undefined;
  });
  const printed = JSON.parse(line) as { command: string; url: string };
  expect(printed).toMatchObject({ command: 'status', url: expect.stringMatching(/^http:\/\/[^/]+:\d+\/$/) });
  return { cli, url: printed.url };
}

/** A copy without the fields that differ between two reads: the time they took. */
function withoutTimes(document: object): Record<string, unknown> {
  const { elapsedMs: _elapsed, ...rest } = document as Record<string, unknown>;
  return rest;
}

/** Commands Redis ran so far, by name (INFO commandstats). */
async function redisCalls(command: string): Promise<number> {
  const client = new Redis(redis.url);
  try {
    const info = await client.info('commandstats');
    return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  } finally {
    client.disconnect();
  }
}

describe('status --serve', () => {
  it('serves on 127.0.0.1: /status.json is what status --json prints, the page carries no data, other paths 404, SIGTERM stops it', async () => {
    const { cli, url } = await serveCli();
    expect(new URL(url).hostname).toBe('127.0.0.1');
    expect(cli.err()).toContain(`at ${url}`);
    expect(cli.err()).not.toMatch(/no authentication/);

    const served = await get(`${url}status.json`);
    expect(served.status).toBe(200);
    expect(served.headers['content-type']).toBe('application/json');
    expect(served.headers['cache-control']).toBe('no-store');
    const printed = captureCli({ env: {} });
    expect(await printed.run('status', '--queue', redis.url, '--id', exportId, '--json')).toBe(EXIT.ok);
    const fromCli = JSON.parse(printed.out());
    expect(fromCli).toMatchObject({ command: 'status', exportId, state: 'waiting' });
    expect(withoutTimes(JSON.parse(served.body))).toEqual(withoutTimes(fromCli));

    // The page and its script and style: static, no data in them (the script reads status.json).
    const page = await get(url);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);
    expect(page.body).not.toContain(exportId);
    expect(page.body).not.toMatch(/https?:\/\/(?!127)/);
    for (const [path, type] of [['status.js', 'text/javascript'], ['status.css', 'text/css']] as const) {
      const asset = await get(url + path);
      expect(asset.status).toBe(200);
      expect(asset.headers['content-type']).toContain(type);
      // Nothing from elsewhere: no CDN, no web font.
      expect(asset.body).not.toMatch(/https?:\/\/|@import|url\(/);
    }
    const script = await get(`${url}status.js`);
    expect(script.body).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);

    expect((await get(`${url}nope`)).status).toBe(404);
    expect((await get(`${url}status.json/x`)).status).toBe(404);
    expect((await get(`${url}status.json`, { method: 'POST' })).status).toBe(405);
    expect((await get(`${url}status.json`, { method: 'HEAD' })).body).toBe('');
    // Loopback only, and only under a loopback name: a web page that rebinds its own name to
    // 127.0.0.1 (DNS rebinding) must not read the status.
    const port = new URL(url).port;
    expect((await get(`${url}status.json`, { headers: { host: `attacker.example:${port}` } })).status).toBe(421);
    expect((await get(`${url}status.json`, { headers: { host: `localhost:${port}` } })).status).toBe(200);
    const elsewhere = Object.values(networkInterfaces()).flat().find((nic) => nic && nic.family === 'IPv4' && !nic.internal);
    if (elsewhere) await expect(get(`${url}status.json`, { host: elsewhere.address })).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await cli.kill('SIGTERM');
    expect(await cli.exited).toEqual([EXIT.terminated, null]);
    expect(cli.err()).toMatch(/stopped serving/);
    await expect(get(`${url}status.json`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('without --id serves the list of the queue', async () => {
    const cli = spawnCli(['status', '--queue', redis.url, '--serve', '0', '--json']);
    processes.push(cli);
    const url = await waitFor('the URL', () => (cli.out().includes('\n') ? (JSON.parse(cli.out()) as { url: string }).url : undefined), 30_000);
    expect(cli.err()).toContain('serving the status of the jobs');
    expect(JSON.parse((await get(`${url}status.json`)).body).jobs).toEqual([expect.objectContaining({ id: exportId })]);
  });

  it('--host widens it, with a warning that the page has no authentication', async () => {
    const { cli, url } = await serveCli(['--host', '0.0.0.0']);
    expect(cli.err()).toMatch(/warning: the page has no authentication; anyone who can reach 0\.0\.0\.0 port \d+/);
    const port = new URL(url).port;
    // Reached under any name now (no Host check), as the operator asked.
    expect((await get(`http://127.0.0.1:${port}/status.json`, { headers: { host: `status.example:${port}` } })).status).toBe(200);
    await cli.kill('SIGINT');
    expect(await cli.exited).toEqual([EXIT.interrupted, null]);
  });

  it('refuses a wrong id before listening, --host without --serve, and a bad port', async () => {
    const wrong = spawnCli(['status', '--queue', redis.url, '--id', 'exp-0000000000000000', '--serve', '0', '--json']);
    processes.push(wrong);
    const [code] = await wrong.exited;
    // As plain `status` with a wrong id: a bad option value, exit 2.
    expect(code).toBe(EXIT.usage);
    expect(wrong.err()).toMatch(/no export or predictions with this id/);
    expect(wrong.out()).not.toMatch(/url/);
    for (const [args, message] of [
      [['--host', '0.0.0.0'], /--host .*--serve/],
      [['--serve', '70000'], /--serve must be an integer from 0 to 65535/],
      [['--serve', 'http'], /--serve must be an integer/],
      [['--serve', '0', '--watch'], /--watch and --serve both follow the job: give one/],
      [['--serve', '0', '--limit', '5'], /--limit is for the list of jobs/],
    ] as const) {
      const cli = captureCli({ env: {} });
      expect(await cli.run('status', '--queue', redis.url, '--id', exportId, ...args)).toBe(EXIT.usage);
      expect(cli.err()).toMatch(message);
    }
  });

  it('documents --serve and --host in status --help', async () => {
    const cli = captureCli({ env: {} });
    expect(await cli.run('status', '--help')).toBe(EXIT.ok);
    expect(cli.out()).toMatch(/--serve PORT/);
    expect(cli.out()).toMatch(/--host HOST .*default 127\.0\.0\.1/);
    expect(cli.out()).toMatch(/no authentication/);
  });
});

describe('serveStatus()', () => {
  it('reads Redis at most once a second however many clients poll', async () => {
    const server: StatusServer = await serveStatus({ queue: redis.url, exportId });
    closing.push(server);
    expect(server).toMatchObject({ host: '127.0.0.1', exposed: false });
    // One read is one SCAN of the worker records (the only SCAN a status read makes): calibrate.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const before = await redisCalls('scan');
    await get(`${server.url}status.json`);
    const perRead = (await redisCalls('scan')) - before;
    expect(perRead).toBeGreaterThanOrEqual(1);

    const start = await redisCalls('scan');
    const started = Date.now();
    let answers = 0;
    // 20 clients polling back to back for 2.5 s.
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (Date.now() - started < 2500) {
          expect((await get(`${server.url}status.json`)).status).toBe(200);
          answers++;
        }
      }),
    );
    const reads = ((await redisCalls('scan')) - start) / perRead;
    const seconds = (Date.now() - started) / 1000;
    expect(answers).toBeGreaterThan(reads);
    expect(reads).toBeLessThanOrEqual(Math.floor(seconds) + 1);
  });

  it('says a Redis outage as 503 with the reason, and serves again when Redis is back', async () => {
    const server = await serveStatus({ queue: redis.url, exportId, redisTimeoutMs: 500 });
    closing.push(server);
    const restarting = redis.restart(4000);
    const down = await waitFor('a 503', async () => {
      const answer = await get(`${server.url}status.json`);
      return answer.status === 503 ? answer : undefined;
    });
    expect(JSON.parse(down.body)).toMatchObject({ command: 'status', error: { name: 'ConnectionError', message: expect.stringMatching(/Redis/) } });
    await restarting;
    const back = await waitFor('a 200 again', async () => {
      const answer = await get(`${server.url}status.json`);
      return answer.status === 200 ? answer : undefined;
    });
    expect(JSON.parse(back.body)).toMatchObject({ exportId, state: 'waiting' });
  });

  it("without an id serves the queue's newest jobs, and each listed job's document under ?id= only", async () => {
    const server = await serveStatus({ queue: redis.url });
    closing.push(server);
    const list = JSON.parse((await get(`${server.url}status.json`)).body);
    expect(withoutTimes(list)).toEqual(withoutTimes(await readStatusDocument({ queue: redis.url })));
    expect(list).toMatchObject({ command: 'status', queue: redis.url, jobs: [{ id: exportId, kind: 'export', state: 'waiting', partitionCount: 3 }], workers: [] });
    // What `status --json` without --id prints.
    const listed = captureCli({ env: {} });
    expect(await listed.run('status', '--queue', redis.url, '--json')).toBe(EXIT.ok);
    expect(withoutTimes(list)).toEqual(withoutTimes(JSON.parse(listed.out())));

    const one = await get(`${server.url}status.json?id=${exportId}`);
    expect(one.status).toBe(200);
    const printed = captureCli({ env: {} });
    expect(await printed.run('status', '--queue', redis.url, '--id', exportId, '--json')).toBe(EXIT.ok);
    expect(withoutTimes(JSON.parse(one.body))).toEqual(withoutTimes(JSON.parse(printed.out())));
    // Not a job of the list: not read at all.
    const unknown = await get(`${server.url}status.json?id=${encodeURIComponent('exp-<b>0000</b>')}`);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ command: 'status', error: { name: 'NotFoundError', message: expect.stringMatching(/among the 20 newest/) } });
    // A one-job server serves that job only.
    const single = await serveStatus({ queue: redis.url, exportId });
    closing.push(single);
    expect((await get(`${single.url}status.json?id=exp-0000000000000000`)).status).toBe(404);
    expect((await get(`${single.url}status.json?id=${exportId}`)).status).toBe(200);
  });

  it('refuses bad options with a ConfigError naming them', async () => {
    await expect(serveStatus({ queue: redis.url, exportId, port: 70_000 })).rejects.toThrow(/"port": must be an integer from 0 to 65535/);
    await expect(serveStatus({ queue: 'http://x', exportId })).rejects.toThrow(/"queue"/);
    await expect(serveStatus({ queue: redis.url, exportId, refreshMs: 10 })).rejects.toThrow(/"refreshMs"/);
    await expect(serveStatus({ queue: redis.url, exportId: 'exp-0000000000000000' })).rejects.toThrow(/no export or predictions with this id/);
    const first = await serveStatus({ queue: redis.url, exportId });
    closing.push(first);
    await expect(serveStatus({ queue: redis.url, exportId, port: first.port })).rejects.toThrow(/"port": is in use on 127\.0\.0\.1: choose another, or 0 for a free one/);
  });
});
