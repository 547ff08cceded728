/** Every stream honours the caller's signal the same way, lets go of it when done, and warns of nothing. */
import { getEventListeners } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError } from '../src/core/errors.js';
import { dataWriter, importResults, importWriter, inferenceResults } from '../src/index.js';
import { startEmulator, type Emulator } from '../src/emulator/index.js';
import { rejection } from './helpers/rejection.js';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ records: 5000, safetykit: { queuedMs: 1, ingestingMs: 1 } });
});
afterAll(async () => {
  await emulator.close();
});

const safetykit = () => ({ baseUrl: emulator.url, apiKey: emulator.env.SAFETYKIT_API_KEY, namespace: 'signals', pollIntervalMs: 5 });
const objects = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `o-${i}`, n: i }));

describe('caller signals', () => {
  it('importResults stops with AbortError when the signal fires mid-iteration', async () => {
    const adds = dataWriter({ ...safetykit(), waitForResults: true });
    await pipeline(Readable.from(objects(500)), adds);
    const controller = new AbortController();
    const results = importResults({ ...safetykit(), requestId: adds.summary!.requestIds[0], signal: controller.signal });
    let seen = 0;
    const error = await rejection(
      (async () => {
        for await (const _output of results) {
          if (++seen === 1) controller.abort();
        }
      })(),
    );
    expect(error).toBeInstanceOf(AbortError);
    expect(seen).toBeLessThan(100);
  });

  it('writers let go of the signal once finished, and fail at once on an already aborted one', async () => {
    const controller = new AbortController();
    for (let run = 0; run < 3; run++) {
      await pipeline(Readable.from(objects(50)), dataWriter({ ...safetykit(), signal: controller.signal }));
      await pipeline(Readable.from(objects(50)), importWriter({ ...safetykit(), signal: controller.signal }));
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);

    for (const create of [() => dataWriter({ ...safetykit(), signal: AbortSignal.abort() }), () => importWriter({ ...safetykit(), signal: AbortSignal.abort() })]) {
      const requestsBefore = emulator.stats()['safetykit.add']?.requests ?? 0;
      await expect(pipeline(Readable.from(objects(10)), create())).rejects.toBeInstanceOf(AbortError);
      expect(emulator.stats()['safetykit.add']?.requests ?? 0).toBe(requestsBefore);
    }
  });

  it('many requests on one signal raise no MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      await pipeline(Readable.from(objects(3000)), dataWriter({ ...safetykit(), batchSize: 10, concurrency: 32, signal: controller.signal }));
      let records = 0;
      for await (const _result of inferenceResults({
        baseUrl: emulator.url,
        apiKey: emulator.env.INNERWORKS_API_KEY,
        batchSize: 50,
        partitions: 16,
        startTime: emulator.innerworks.timestampOf(0),
        endTime: emulator.innerworks.timestampOf(4999) + 1,
        signal: controller.signal,
      }))
        records++;
      expect(records).toBe(5000);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
