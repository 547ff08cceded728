/** SIGINT exits 130 and SIGTERM 143, with one "interrupted" line (spawns the built CLI: dist/cli/main.js). */
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT, InterruptedError, interruptedExitCode, markReported } from '../src/cli/command.js';
import { reportError } from '../src/cli/main.js';
import { AbortError } from '../src/core/errors.js';
import { captureCli } from './helpers/cli.js';
import { spawnCli } from './helpers/spawn-cli.js';
import { startTestServer, type TestServer } from './helpers/server.js';

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('signals', () => {
  for (const [signal, code] of [
    ['SIGTERM', EXIT.terminated],
    ['SIGINT', EXIT.interrupted],
  ] as const) {
    it(`the emulator command exits ${code} on ${signal}`, async () => {
      const cli = spawnCli(['emulator', '--port', '0', '--json']);
      await until(() => cli.out().includes('\n'));
      cli.child.kill(signal);
      const [exitCode, bySignal] = await cli.exited;
      expect(bySignal).toBeNull();
      expect(exitCode).toBe(code);
      expect(cli.err()).toContain('emulator stopped');
    });

    it(`a command waiting on a request exits ${code} on ${signal}, with one "interrupted" line`, async () => {
      let arrived = false;
      // Never answers: the CLI is stuck in its request when the signal comes.
      server = await startTestServer(() => {
        arrived = true;
      });
      const cli = spawnCli(['validation', '--project', 'p', '--dataset', 'd'], { REINFER_ENDPOINT: server.url, REINFER_TOKEN: 'test-token-123' });
      await until(() => arrived);
      cli.child.kill(signal);
      const [exitCode] = await cli.exited;
      expect(exitCode).toBe(code);
      expect(cli.err().match(/interrupted/g)).toHaveLength(1);
    });
  }

  it('interruptedExitCode reads the signal from the abort reason', () => {
    const term = new AbortController();
    term.abort(new InterruptedError('SIGTERM'));
    expect(interruptedExitCode({ signal: term.signal })).toBe(143);
    const int = new AbortController();
    int.abort(new InterruptedError('SIGINT'));
    expect(interruptedExitCode({ signal: int.signal })).toBe(130);
    const plain = new AbortController();
    plain.abort();
    expect(interruptedExitCode({ signal: plain.signal })).toBe(130);
    expect(new InterruptedError('SIGINT')).toBeInstanceOf(AbortError);
  });

  it('an error marked as reported prints nothing more but keeps its exit code', () => {
    const controller = new AbortController();
    controller.abort(new InterruptedError('SIGTERM'));
    const run = captureCli({ signal: controller.signal });
    expect(reportError('export', markReported(new AbortError('interrupted')), run.io)).toBe(143);
    expect(reportError('export', markReported(new Error('disk full')), captureCli().io)).toBe(EXIT.failure);
    const unmarked = captureCli({ signal: controller.signal });
    expect(reportError('export', new AbortError('interrupted'), unmarked.io)).toBe(143);
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        expect(run.err()).toBe('');
        expect(unmarked.err()).toContain('interrupted');
        resolve();
      }),
    );
  });
});
