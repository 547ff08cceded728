/** `inference-streams predict` and `validation` through main(), against the emulator over loopback. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { doc, docs } from './reinfer-helpers.js';
import { captureCli } from './helpers/cli.js';

const SECRET = 'rf-cli-secret-token-abcdef0123456789';
let emulator: Emulator;
let dir: string;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0, reinfer: { tokens: [SECRET] } });
  dir = await mkdtemp(join(tmpdir(), 'reinfer-cli-'));
});
afterAll(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

function cli(stdinText = '', env: Record<string, string> = {}, signal = new AbortController().signal) {
  return captureCli({ stdinText, env: { REINFER_ENDPOINT: emulator.url, REINFER_TOKEN: SECRET, ...env }, signal });
}

const jsonl = (items: unknown[]) => items.map((i) => JSON.stringify(i)).join('\n') + '\n';
const lines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('inference-streams predict', () => {
  it('reads JSONL on stdin and writes one prediction per line on stdout, in order', async () => {
    const c = cli(jsonl(docs(30)));
    expect(await c.run('predict', '--project', 'acme', '--dataset', 'emails', '--batch-size', '7', '--concurrency', '3')).toBe(EXIT.ok);
    const out = lines(c.out());
    expect(out.map((o) => o.input.id)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(out[0].labels[0]).toEqual(expect.objectContaining({ name: expect.any(Array), fullName: expect.any(String) }));
    expect(c.err()).toMatch(/Predicted 30 of 30 inputs \(5 batches, 5 requests\)/);
  });

  it('files in and out, --label with thresholds, --threshold, --version, and a --json summary', async () => {
    const inFile = join(dir, 'in.jsonl');
    const outFile = join(dir, 'out.jsonl');
    await writeFile(inFile, jsonl(docs(10)));
    const c = cli();
    const code = await c.run('predict', '--project', 'acme', '--dataset', 'emails', '--version', '3', '--in', inFile, '--out', outFile, '--threshold', '0.1', '--label', 'Order > Missing=0.4', '--label', 'Billing', '--json');
    expect(code).toBe(EXIT.ok);
    const summary = JSON.parse(c.out());
    expect(summary).toMatchObject({ documents: 10, predicted: 10, failed: 0, out: outFile });
    const out = lines(await readFile(outFile, 'utf8'));
    expect(out).toHaveLength(10);
    expect(out[0].model.version).toBe(3);
    expect(emulator.reinfer.requests().at(-1)).toMatchObject({ version: '3', threshold: 0.1, labels: [{ name: ['Order', 'Missing'], threshold: 0.4 }, { name: ['Billing'] }] });
  });

  it('--skip-invalid writes bad inputs as {input, index, error} lines; without it, exit 1 naming the line index', async () => {
    const inputs = [doc(0), { id: 1 }, doc(2)];
    const c = cli(jsonl(inputs));
    expect(await c.run('predict', '--project', 'acme', '--dataset', 'emails', '--skip-invalid')).toBe(EXIT.ok);
    const out = lines(c.out());
    expect(out[1]).toEqual({ input: { id: 1 }, index: 1, error: { name: 'InvalidDocumentError', message: expect.stringMatching(/input 1: messages is required/) } });
    expect(c.err()).toMatch(/1 could not be predicted/);
    const strict = cli(jsonl(inputs));
    expect(await strict.run('predict', '--project', 'acme', '--dataset', 'emails')).toBe(EXIT.failure);
    expect(strict.err()).toMatch(/Cannot predict input 1: messages is required/);
  });

  it('--raw-emails needs --transform-tag; --uids predicts stored comments', async () => {
    const usage = cli('');
    expect(await usage.run('predict', '--project', 'acme', '--dataset', 'emails', '--raw-emails')).toBe(EXIT.usage);
    expect(usage.err()).toMatch(/--transform-tag/);
    const email = { raw_email: { body: { plain: 'Where is my order?' }, headers: { parsed: { Subject: 'Order', From: 'a@b.com' } } } };
    const raw = cli(jsonl([email]));
    expect(await raw.run('predict', '--project', 'acme', '--dataset', 'emails', '--raw-emails', '--transform-tag', 'generic.0.CONVKER5', '--include-comments')).toBe(EXIT.ok);
    expect(lines(raw.out())[0].comment.messages[0].subject.text).toBe('Order');
    const uids = emulator.reinfer.commentUids(4);
    const byUid = cli(jsonl(uids));
    expect(await byUid.run('predict', '--project', 'acme', '--dataset', 'emails', '--uids', '--concurrency', 'auto')).toBe(EXIT.ok);
    expect(lines(byUid.out()).map((o) => o.uid)).toEqual(uids);
  });

  it('usage errors exit 2: missing project, bad flags, bad version', async () => {
    expect(await cli('').run('predict', '--dataset', 'd')).toBe(EXIT.usage);
    expect(await cli('').run('predict', '--project', 'p', '--dataset', 'd', '--concurrency', '0')).toBe(EXIT.usage);
    expect(await cli('').run('predict', '--project', 'p', '--dataset', 'd', '--threshold', 'high')).toBe(EXIT.usage);
    expect(await cli('').run('predict', '--project', 'p', '--dataset', 'd', '--label', '=0.3')).toBe(EXIT.usage);
    const badVersion = cli(jsonl([doc(0)]));
    expect(await badVersion.run('predict', '--project', 'p', '--dataset', 'd', '--version', 'newest')).toBe(EXIT.usage);
    expect(badVersion.err()).toMatch(/--version/);
    const noToken = cli('', { REINFER_TOKEN: '' });
    expect(await noToken.run('predict', '--project', 'p', '--dataset', 'd')).toBe(EXIT.usage);
    expect(noToken.err()).toMatch(/REINFER_TOKEN/);
  });

  it('a wrong token exits 1 and never prints the token', async () => {
    const wrong = 'rf-cli-wrong-token-0011223344556677';
    const c = cli(jsonl([doc(0)]), { REINFER_TOKEN: wrong });
    expect(await c.run('predict', '--project', 'p', '--dataset', 'd', '--verbose')).toBe(EXIT.failure);
    expect(c.err()).toMatch(/HTTP 401/);
    expect(c.err() + c.out()).not.toContain(wrong);
    const v = cli('', { REINFER_TOKEN: wrong });
    expect(await v.run('validation', '--project', 'p', '--dataset', 'd', '--verbose')).toBe(EXIT.failure);
    expect(v.err() + v.out()).not.toContain(wrong);
  });

  it('Ctrl-C mid-stream exits 130', async () => {
    emulator.reinfer.configure({ latencyMs: 2_000 });
    try {
      const controller = new AbortController();
      const c = cli(jsonl(docs(50)), {}, controller.signal);
      setTimeout(() => controller.abort(), 100);
      expect(await c.run('predict', '--project', 'p', '--dataset', 'd', '--batch-size', '10')).toBe(EXIT.interrupted);
      expect(c.err()).toMatch(/interrupted/);
    } finally {
      emulator.reinfer.configure({ latencyMs: 0 });
    }
  });
});

describe('inference-streams validation', () => {
  it('prints a readable table by default and the object with --json', async () => {
    const table = cli();
    expect(await table.run('validation', '--project', 'acme', '--dataset', 'emails')).toBe(EXIT.ok);
    expect(table.out()).toMatch(/Validation of acme\/emails/);
    expect(table.out()).toMatch(/Model version\s+5/); // live by default, as for predict
    expect(table.out()).toMatch(/Dataset score\s+\d+\/100/);
    expect(table.out()).toMatch(/\n {4}Missing\n/);
    const json = cli();
    expect(await json.run('validation', '--project', 'acme', '--dataset', 'emails', '--version', 'latest', '--json')).toBe(EXIT.ok);
    expect(JSON.parse(json.out())).toMatchObject({ version: 6, num_labels: expect.any(Number) });
    const missing = cli();
    expect(await missing.run('validation', '--project', 'acme', '--dataset', 'emails', '--version', '77')).toBe(EXIT.failure);
    expect(missing.err()).toMatch(/not found/);
  });

  it('--emulator works without any account', async () => {
    const c = cli('', { REINFER_TOKEN: '', REINFER_ENDPOINT: '' });
    expect(await c.run('validation', '--emulator', '--project', 'acme', '--dataset', 'emails', '--json')).toBe(EXIT.ok);
    expect(JSON.parse(c.out()).version).toBe(5);
  });
});
