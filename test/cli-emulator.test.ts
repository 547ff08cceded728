/** `emulator --api-key/--safetykit-key/--token` refuse other credentials; a port in use is said plainly. */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { captureCli, type CapturedCli } from './helpers/cli.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

/** Start `emulator ...args --port 0 --json` in-process; resolves to its summary once listening. */
async function startCliEmulator(...args: string[]): Promise<{ url: string; env: Record<string, string>; run: CapturedCli }> {
  const controller = new AbortController();
  const run = captureCli({ signal: controller.signal });
  const done = run.run('emulator', '--port', '0', '--json', ...args);
  stop = async () => {
    controller.abort();
    await done;
  };
  while (!run.out().includes('\n')) await new Promise((resolve) => setTimeout(resolve, 10));
  return { ...JSON.parse(run.out().split('\n')[0]), run };
}

const innerworks = (url: string, key: string) => fetch(`${url}/api/v1/innerworks/inference/batch?batch_size=1`, { headers: { 'x-api-key': key } });
const safetykit = (url: string, key: string) =>
  fetch(`${url}/v1/data/ns`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ data: [{ id: 'a' }] }) });
const reinfer = (url: string, token: string) => fetch(`${url}/api/v1/datasets/p/d/labellers/live/validation`, { headers: { authorization: `Bearer ${token}` } });

describe('emulator credentials', () => {
  it('--api-key and --token: the given credentials are accepted, others get each vendor\'s 401', async () => {
    const { url, env } = await startCliEmulator('--api-key', 'test-key-1', '--token', 'test-token-1');
    expect(env).toMatchObject({ INNERWORKS_API_KEY: 'test-key-1', SAFETYKIT_API_KEY: 'test-key-1', REINFER_TOKEN: 'test-token-1' });
    expect((await innerworks(url, 'test-key-1')).status).toBe(200);
    const wrongInnerworks = await innerworks(url, 'other-key');
    expect(wrongInnerworks.status).toBe(401);
    expect(await wrongInnerworks.json()).toMatchObject({ statusCode: 401 });
    expect((await safetykit(url, 'test-key-1')).status).toBeLessThan(300);
    const wrongSafetykit = await safetykit(url, 'other-key');
    expect(wrongSafetykit.status).toBe(401);
    expect(await wrongSafetykit.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expect((await reinfer(url, 'test-token-1')).status).toBe(200);
    const wrongReinfer = await reinfer(url, 'test-key-1');
    expect(wrongReinfer.status).toBe(401);
    expect(await wrongReinfer.json()).toMatchObject({ status: 'error' });
  });

  it('--safetykit-key sets SafetyKit apart from --api-key', async () => {
    const { url, env } = await startCliEmulator('--api-key', 'iw-key-1', '--safetykit-key', 'sk-key-1');
    expect(env).toMatchObject({ INNERWORKS_API_KEY: 'iw-key-1', SAFETYKIT_API_KEY: 'sk-key-1' });
    expect((await safetykit(url, 'iw-key-1')).status).toBe(401);
    expect((await safetykit(url, 'sk-key-1')).status).toBeLessThan(300);
    expect((await innerworks(url, 'sk-key-1')).status).toBe(401);
    // No --token: any non-empty token still works.
    expect((await reinfer(url, 'anything')).status).toBe(200);
  });

  it('a command pointed at it with a wrong key fails with the 401 (exit 1)', async () => {
    const { env } = await startCliEmulator('--api-key', 'test-key-1');
    const run = captureCli({ env: { ...env, INNERWORKS_API_KEY: 'wrong-key-1' } });
    expect(await run.run('export', '--out', '-')).toBe(EXIT.failure);
    await flush();
    expect(run.err()).toMatch(/401/);
    expect(run.err()).not.toContain('wrong-key-1');
  });

  it('refuses an empty or spaced credential', async () => {
    const run = captureCli();
    expect(await run.run('emulator', '--port', '0', '--token', 'a b')).toBe(EXIT.usage);
    await flush();
    expect(run.err()).toContain('--token must be non-empty printable ASCII');
  });
});

describe('emulator --port in use', () => {
  it('says the port is in use and hints at --port 0', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const run = captureCli();
      expect(await run.run('emulator', '--port', String(port))).toBe(EXIT.failure);
      await flush();
      expect(run.err()).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(run.err()).toContain('--port 0');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
