/** Run the CLI's `main()` in-process with captured stdout/stderr, as the tests of every command do. */
import { PassThrough, Readable } from 'node:stream';
import type { CliIO } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';

export interface CapturedCli {
  io: CliIO;
  out(): string;
  err(): string;
  /** `main(args)` with this io; resolves to the exit code. */
  run(...args: string[]): Promise<number>;
}

/** A CliIO whose output is captured; `stdinText` is what the command reads on stdin. */
export function captureCli(options: Partial<CliIO> & { stdinText?: string } = {}): CapturedCli {
  const { stdinText, ...overrides } = options;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += chunk));
  stderr.on('data', (chunk) => (err += chunk));
  const io: CliIO = {
    stdin: Readable.from(stdinText === undefined ? [] : [stdinText]),
    stdout,
    stderr,
    env: {},
    progress: false,
    signal: new AbortController().signal,
    verbose: false,
    ...overrides,
  };
  return { io, out: () => out, err: () => err, run: (...args) => main(args, io) };
}
