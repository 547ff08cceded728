import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { getRequestStatus, importWriter } from '../src/safetykit/index.js';
import { uploadFile } from '../src/safetykit/client.js';
import { resolveRetry } from '../src/core/retry.js';
import { captureCli } from './helpers/cli.js';

const KEY = 'sk-live-cli-secret-5551234';
let emulator: Emulator;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({ safetykit: { queuedMs: 2, ingestingMs: 5, apiKeys: [KEY] } });
  dir = mkdtempSync(join(tmpdir(), 'sk-cli-test-'));
});
afterAll(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(args: string[], env: Record<string, string> = {}, stdin = '') {
  const cli = captureCli({ stdinText: stdin, env: { SAFETYKIT_BASE_URL: emulator.url, SAFETYKIT_API_KEY: KEY, ...env }, progress: true, verbose: true });
  const code = await cli.run(...args);
  return { code, out: cli.out(), err: cli.err() };
}

function writeJsonl(name: string, count: number, broken?: number): string {
  const path = join(dir, name);
  const lines = Array.from({ length: count }, (_, i) => (i + 1 === broken ? '{"id": broken' : JSON.stringify({ id: `cli-${i}`, text: 'hi' })));
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

describe('inference-streams ingest', () => {
  it('adds a JSONL file in batches and prints a JSON summary', async () => {
    const file = writeJsonl('ingest.jsonl', 250);
    const { code, out, err } = await run(['ingest', '--namespace', 'cli', '--in', file, '--batch-size', '100', '--wait', '--json']);
    expect(code, err).toBe(0);
    const summary = JSON.parse(out);
    expect(summary).toMatchObject({ command: 'ingest', namespace: 'cli', objects: 250, statuses: { succeeded: 3 } });
    expect(summary.requestIds).toHaveLength(3);
    expect(err).toContain('ingest cli:');
  });

  it('reads stdin and reports a bad line with its number (exit 1)', async () => {
    const { code, err } = await run(['ingest', '--namespace', 'cli'], {}, '{"id":"a"}\n{"id":\n');
    expect(code).toBe(1);
    expect(err).toMatch(/stdin:2/);
  });

  it('needs --namespace and an API key (exit 2)', async () => {
    expect((await run(['ingest'])).code).toBe(2);
    const noKey = await run(['ingest', '--namespace', 'cli'], { SAFETYKIT_API_KEY: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.err).toMatch(/SAFETYKIT_API_KEY/);
    expect((await run(['ingest', '--namespace', 'cli', '--batch-size', '5000'])).code).toBe(2);
  });
});

describe('inference-streams import', () => {
  it('imports a file, waits, writes the outputs and prints the requestId', async () => {
    const file = writeJsonl('import.jsonl', 500);
    const resultsFile = join(dir, 'outputs.jsonl');
    const { code, out, err } = await run(['import', '--namespace', 'cli', '--in', file, '--results-out', resultsFile, '--poll-interval-ms', '5']);
    expect(code, err).toBe(0);
    const requestId = out.trim();
    expect(requestId).toMatch(/^req_/);
    expect((await getRequestStatus({ baseUrl: emulator.url, apiKey: KEY, namespace: 'cli', requestId })).status).toBe('succeeded');
    const outputs = readFileSync(resultsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(outputs).toHaveLength(500);
    expect(err).toMatch(/500 objects .* imported into cli in 1 request; 500 outputs written/);
  });

  it('stops at a bad line before uploading anything (exit 1)', async () => {
    const before = emulator.safetykit.uploads().length;
    const file = writeJsonl('bad.jsonl', 10, 7);
    const { code, err } = await run(['import', '--namespace', 'cli', '--in', file]);
    expect(code).toBe(1);
    expect(err).toMatch(/bad\.jsonl:7/);
    expect(emulator.safetykit.uploads().length).toBe(before);
  });

  it('reports a failed import with its reason (exit 1)', async () => {
    emulator.safetykit.failNextRequest('bad namespace schema');
    const { code, err } = await run(['import', '--namespace', 'cli', '--in', writeJsonl('f.jsonl', 3), '--wait', '--poll-interval-ms', '5']);
    expect(code).toBe(1);
    expect(err).toMatch(/failed: bad namespace schema/);
  });
});

describe('secrets never leak', () => {
  it('keeps the API key out of CLI output, even with --verbose stacks', async () => {
    const wrongKey = 'sk-live-wrong-key-0987654321';
    const file = writeJsonl('k.jsonl', 3);
    for (const command of ['ingest', 'import']) {
      const { code, out, err } = await run([command, '--namespace', 'cli', '--in', file, '--verbose'], { SAFETYKIT_API_KEY: wrongKey });
      expect(code).toBe(1);
      expect(err).toMatch(/401/);
      expect(`${out}${err}`).not.toContain(wrongKey);
      expect(`${out}${err}`).not.toContain(KEY);
    }
  });

  it('keeps the upload URL signature out of errors, inspect output and CLI output', async () => {
    // A successful CLI import: the upload URL appears nowhere.
    const ok = await run(['import', '--namespace', 'cli', '--in', writeJsonl('s.jsonl', 5), '--verbose', '--json']);
    expect(ok.code).toBe(0);
    expect(`${ok.out}${ok.err}`).not.toMatch(/signature|_objects/);

    // A refused PUT (tampered signature): the error names the URL without its query string.
    const writer = importWriter({ baseUrl: emulator.url, apiKey: KEY, namespace: 'cli', wait: false, spoolDir: dir });
    const tickets: string[] = [];
    writer.on('import', (e) => tickets.push(e.requestId));
    const res = await fetchTicket();
    const tampered = res.upload_url.replace(/signature=[0-9a-f]{8}/, 'signature=deadbeef');
    const secretPart = new URL(res.upload_url).searchParams.get('signature')!;
    const file = writeJsonl('u.jsonl', 2);
    const error = await uploadFile(tampered, file, readFileSync(file).length, { timeoutMs: 5000, retry: resolveRetry(false) }).catch((e: Error) => e);
    expect((error as Error).name).toBe('PermissionDeniedError');
    const shown = `${(error as Error).message}\n${(error as Error).stack}\n${inspect(error)}`;
    expect(shown).toContain('/_objects/safetykit-uploads/');
    expect(shown).not.toContain('deadbeef');
    expect(shown).not.toContain(secretPart.slice(8));
    expect(shown).not.toContain('expires=');
    writer.destroy();
  });
});

async function fetchTicket(): Promise<{ upload_url: string }> {
  const { request } = await import('undici');
  const res = await request(`${emulator.url}/v1/data/cli/import`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` } });
  return (await res.body.json()) as { upload_url: string };
}
