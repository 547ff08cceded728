/** A credential an HTTP header cannot carry is a ConfigError naming the option, before any request. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { startEmulator } from '../src/emulator/index.js';
import { dataWriter, inferenceResults, predictDocuments } from '../src/index.js';

describe('credentials outside Latin-1', () => {
  it('are refused at construction by every vendor, naming the option and never echoing the value', async () => {
    const emulator = await startEmulator({ records: 10 });
    try {
      // A pasted key with a typographic dash (U+2013) and one with an emoji.
      for (const secret of ['key–with-en-dash-123', 'key-😀-secret-456']) {
        const attempts: Array<[string, () => unknown]> = [
          ['apiKey', () => inferenceResults({ baseUrl: emulator.url, apiKey: secret })],
          ['apiKey', () => dataWriter({ baseUrl: emulator.url, apiKey: secret, namespace: 'n' })],
          ['token', () => predictDocuments({ endpoint: emulator.url, token: secret, project: 'p', dataset: 'd', version: 'live' })],
        ];
        for (const [option, attempt] of attempts) {
          let error: unknown;
          try {
            attempt();
          } catch (caught) {
            error = caught;
          }
          expect(error).toBeInstanceOf(ConfigError);
          expect((error as ConfigError).option).toBe(option);
          expect((error as Error).message).toMatch(/Latin-1/);
          expect((error as Error).message).not.toContain(secret);
        }
      }
      const requests = Object.values(emulator.stats()).reduce((sum, route) => sum + (route?.requests ?? 0), 0);
      expect(requests).toBe(0);
    } finally {
      await emulator.close();
    }
  });

  it('Latin-1 letters are fine (a header may carry them)', () => {
    expect(() => inferenceResults({ baseUrl: 'http://127.0.0.1:9', apiKey: 'clé-sécrète-789' })).not.toThrow();
  });
});
