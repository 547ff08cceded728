/**
 * `export --out -` interrupted at random moments, by SIGINT and SIGTERM, with a slow reader on
 * the pipe: every record lands on stdout exactly once, in order, when each run is continued with
 * the command it printed. Spawns the built CLI (dist/cli/main.js) as a user's shell would.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli/command.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';

const RECORDS = 6000;
let emulator: Emulator;
beforeAll(async () => {
  // Latency and 10 % faults keep the export running long enough to be interrupted anywhere.
  emulator = await startEmulator({ records: RECORDS, latencyMs: 15, faults: { rate: 0.1, seed: 7, kinds: ['500', '503', '429', 'reset', 'truncate'], retryAfterMs: 20 } });
});
afterAll(() => emulator?.close());

interface Run {
  out: string;
  err: string;
  code: number | null;
}

const batchRequests = () => emulator.stats()['innerworks.batch']?.requests ?? 0;

/**
 * Run a shell command line (the printed continuation is one) with a reader that stalls now and
 * then; send `signal` once `interruptAfterBytes` of stdout have arrived (0: once the CLI has
 * asked the server for a page, so it is past start-up and waiting on the network).
 */
async function runShell(commandLine: string, interruptAfterBytes: number | undefined, signal: NodeJS.Signals): Promise<Run> {
  const requestsBefore = batchRequests();
  const child = spawn('sh', ['-c', `exec ${commandLine.replace(/^inference-streams /, `"${process.execPath}" dist/cli/main.js `)}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...emulator.env },
  });
  const chunks: Buffer[] = [];
  let received = 0;
  let err = '';
  let sent = false;
  const interrupt = () => {
    if (sent || interruptAfterBytes === undefined) return;
    sent = true;
    child.kill(signal);
  };
  const poll = setInterval(() => interruptAfterBytes === 0 && batchRequests() > requestsBefore && interrupt(), 2);
  child.stdout.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    received += chunk.length;
    if (interruptAfterBytes !== undefined && interruptAfterBytes > 0 && received >= interruptAfterBytes) interrupt();
    // A slow consumer: the pipe fills, and our writes wait on it (where records used to be lost).
    if (chunks.length % 7 === 0) {
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 5);
    }
  });
  child.stderr.on('data', (chunk) => (err += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  clearInterval(poll);
  return { out: Buffer.concat(chunks).toString('utf8'), err, code };
}

function expectedIds(): string[] {
  return Array.from({ length: RECORDS }, (_, i) => JSON.parse(emulator.innerworks.recordJson(i)).requestId as string);
}

describe('export --out - interrupted and continued', () => {
  it('delivers every record exactly once, in order, across ≥ 5 random interruptions', async () => {
    let commandLine = 'inference-streams export --out - --batch-size 97 --no-progress';
    let output = '';
    let interruptions = 0;
    // Random moments (in stdout bytes; 0 = while the first request is under way), logged for a rerun.
    const moments = [0, ...Array.from({ length: 8 }, () => 1 + Math.floor(Math.random() * 400_000))];
    console.log(`interrupting after ${moments.join(', ')} bytes`);
    for (let i = 0; i < moments.length; i++) {
      const moment = moments[i];
      const signal: NodeJS.Signals = i % 2 === 0 ? 'SIGINT' : 'SIGTERM';
      const run = await runShell(commandLine, moment, signal);
      output += run.out;
      const lines = run.out === '' ? 0 : run.out.split('\n').length - 1;
      if (run.code === EXIT.ok) break;
      interruptions++;
      expect(run.code, run.err).toBe(signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated);
      // One "interrupted" line, whose count is what reached stdout.
      expect(run.err.match(/interrupted/g), run.err).toHaveLength(1);
      expect(run.err).toContain(`interrupted after ${lines.toLocaleString('en-US')} records`);
      expect(run.out === '' || run.out.endsWith('\n')).toBe(true);
      const continuation = /to continue: (inference-streams export --out - --checkpoint '[^']+'.*)$/m.exec(run.err);
      if (continuation) {
        expect(continuation[1]).toContain('--batch-size 97');
        commandLine = continuation[1];
      } else {
        // Interrupted before the first page was written: the same command starts over.
        expect(output).toBe('');
      }
    }
    expect(interruptions).toBeGreaterThanOrEqual(5);
    if (!output.endsWith('\n') || output.split('\n').length - 1 < RECORDS) {
      // Finish the export if the last moment still interrupted it.
      output += (await runShell(commandLine, undefined, 'SIGINT')).out;
    }
    const ids = output.trimEnd().split('\n').map((line) => JSON.parse(line).requestId as string);
    expect(ids.length).toBe(RECORDS);
    expect(ids).toEqual(expectedIds());
  });

  it('refuses --checkpoint with --partitions, and a malformed checkpoint, before any request', async () => {
    const before = emulator.stats()['innerworks.batch']?.requests ?? 0;
    const partitioned = await runShell("inference-streams export --out - --since 2024-01-01 --partitions 2 --checkpoint 'QQ=='", undefined, 'SIGINT');
    expect(partitioned.code).toBe(EXIT.usage);
    expect(partitioned.err).toContain('--checkpoint');
    const malformed = await runShell("inference-streams export --out - --checkpoint 'not a checkpoint!'", undefined, 'SIGINT');
    expect(malformed.code).toBe(EXIT.usage);
    expect(malformed.err).toMatch(/checkpoint/);
    expect(emulator.stats()['innerworks.batch']?.requests ?? 0).toBe(before);
  });
});
