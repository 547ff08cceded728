/** Shared helpers of the Reinfer tests (not a test file itself). */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startEmulator, type Emulator } from '../src/emulator/index.js';

export const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 20 };

/** A valid document with an extra `id` field. */
export function doc(i: number): { id: number; messages: Array<{ body: { text: string } }> } {
  const texts = ['Order ORD-{n} is missing', 'Please send the invoice', 'Thanks, great service', 'My parcel #{n} arrived damaged'];
  return { id: i, messages: [{ body: { text: texts[i % texts.length].replace('{n}', String(100000 + i)) } }] };
}

export function docs(n: number): ReturnType<typeof doc>[] {
  return Array.from({ length: n }, (_, i) => doc(i));
}

/** Connection options for the emulator. */
export function conn(emulator: Emulator): { endpoint: string; token: string; project: string; dataset: string; retry: typeof FAST_RETRY } {
  return { endpoint: emulator.url, token: emulator.env.REINFER_TOKEN, project: 'acme', dataset: 'emails', retry: FAST_RETRY };
}

/** Pipe `inputs` through `transform` and collect what comes out. */
export async function run<T = any>(transform: NodeJS.ReadWriteStream & Readable, inputs: unknown[]): Promise<T[]> {
  const out: T[] = [];
  await pipeline(
    Readable.from(inputs),
    transform,
    new Writable({
      objectMode: true,
      write(chunk: T, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return out;
}

/**
 * One emulator for a test file (port 0, quick Retry-After), its stats and faults reset before
 * each test, closed after the file; call the returned function inside a test.
 */
export function reinferEmulatorPerFile(): () => Emulator {
  let emulator: Emulator | undefined;
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, faults: { retryAfterMs: 5 } });
  });
  afterAll(async () => {
    await emulator?.close();
  });
  beforeEach(() => {
    emulator!.resetStats();
    emulator!.setFaults({ retryAfterMs: 5 });
  });
  return () => {
    if (!emulator) throw new Error('reinferEmulatorPerFile() is only available inside tests');
    return emulator;
  };
}
