/**
 * A partition's progress is written to Redis behind the page loop (queue/progress-writer.ts): a
 * page does not wait for its own progress write, only for the one before, so Redis lags by at
 * most one page and a worker never runs more than a page ahead of a Redis that went away.
 */
import { describe, expect, it } from 'vitest';
import { ProgressWriter } from '../src/queue/progress-writer.js';

/** A write that finishes when the test says so. */
function controlledWrites() {
  const started: number[] = [];
  const finish: Array<(error?: Error) => void> = [];
  const write = (progress: number) => {
    started.push(progress);
    return new Promise<void>((resolve, reject) => finish.push((error) => (error ? reject(error) : resolve())));
  };
  return { started, finish, write };
}

const settled = async (promise: Promise<unknown>) => {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('ProgressWriter', () => {
  it('does not wait for its own write, only for the previous one (at most one page behind)', async () => {
    const { started, finish, write } = controlledWrites();
    const writer = new ProgressWriter(write);
    expect(await settled(writer.report(1))).toBe(true);
    expect(started).toEqual([1]);
    // Page 2 waits until page 1's progress is in Redis, and then starts its own write.
    const second = writer.report(2);
    expect(await settled(second)).toBe(false);
    expect(started).toEqual([1]);
    finish[0]();
    expect(await settled(second)).toBe(true);
    expect(started).toEqual([1, 2]);
    // flush() waits for the last write: the job's state must not change before it lands.
    const flushed = writer.flush();
    expect(await settled(flushed)).toBe(false);
    finish[1]();
    expect(await settled(flushed)).toBe(true);
  });

  it('a failed write fails the next report (which writes nothing) or the flush', async () => {
    const { started, finish, write } = controlledWrites();
    const writer = new ProgressWriter(write);
    await writer.report(1);
    finish[0](new Error('Redis said no'));
    await expect(writer.report(2)).rejects.toThrow('Redis said no');
    expect(started).toEqual([1]);
    await writer.report(3);
    finish[1](new Error('again'));
    await expect(writer.flush()).rejects.toThrow('again');
    await expect(writer.flush()).resolves.toBeUndefined();
  });
});
