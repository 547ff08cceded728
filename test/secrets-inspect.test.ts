/** No public stream shows its API key or token in util.inspect(), whatever the options. */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataWriter, importResults, importWriter, inferenceResults, predictComments, predictDocuments, predictRawEmails } from '../src/index.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';

const KEY = 'sk_live_inspect_secret_7d1c0ffee';
let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

describe('util.inspect of streams', () => {
  const reinfer = () => ({ endpoint: emulator.url, token: KEY, project: 'p', dataset: 'd' });
  const safetykit = () => ({ baseUrl: emulator.url, apiKey: KEY, namespace: 'ns' });
  const factories: Record<string, () => unknown> = {
    inferenceResults: () => inferenceResults({ baseUrl: emulator.url, apiKey: KEY }),
    dataWriter: () => dataWriter(safetykit()),
    importWriter: () => importWriter(safetykit()),
    importResults: () => importResults({ ...safetykit(), requestId: 'req-1' }),
    predictDocuments: () => predictDocuments(reinfer()),
    predictRawEmails: () => predictRawEmails({ ...reinfer(), transformTag: 'generic.0.CONVKER5' }),
    predictComments: () => predictComments(reinfer()),
  };
  for (const [name, create] of Object.entries(factories)) {
    it(`${name} does not show the credential`, async () => {
      const stream = create() as unknown as { destroy(): void; on(event: string, listener: () => void): void };
      stream.on('error', () => undefined);
      try {
        for (const options of [{}, { showHidden: true, depth: Infinity }]) expect(inspect(stream, options)).not.toContain(KEY);
      } finally {
        stream.destroy();
      }
    });
  }
});
