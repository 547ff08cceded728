import { describe, expect, it } from 'vitest';
import { Batcher, IdleTimer } from '../src/core/batch.js';
import { OrderedMap } from '../src/core/ordered-map.js';

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('OrderedMap', () => {
  it('emits in input order although later tasks finish first, never exceeding the window', async () => {
    const emitted: number[] = [];
    let running = 0;
    let maxRunning = 0;
    const map = new OrderedMap<number, number>(
      async (n) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await wait((10 - n) * 3);
        running--;
        return n * 10;
      },
      (value) => emitted.push(value),
      { concurrency: 3 },
    );
    let maxPending = 0;
    for (let i = 0; i < 10; i++) {
      await map.push(i);
      maxPending = Math.max(maxPending, map.pending);
    }
    await map.drain();
    expect(emitted).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(maxRunning).toBeLessThanOrEqual(3);
    expect(maxPending).toBeLessThanOrEqual(3);
  });

  it('emits as tasks finish when unordered', async () => {
    const emitted: number[] = [];
    const map = new OrderedMap<number, number>(async (n) => (await wait(n === 0 ? 50 : 1), n), (v) => emitted.push(v), { concurrency: 4, ordered: false });
    for (const n of [0, 1, 2, 3]) await map.push(n);
    await map.drain();
    expect(emitted[emitted.length - 1]).toBe(0);
    expect(emitted.sort()).toEqual([0, 1, 2, 3]);
  });

  it('rejects push and drain after a task fails', async () => {
    const map = new OrderedMap<number, number>(async (n) => {
      if (n === 1) throw new Error('task 1 failed');
      return n;
    }, () => {}, { concurrency: 2 });
    await map.push(0);
    await expect((async () => {
      await map.push(1);
      await map.push(2);
      await map.drain();
    })()).rejects.toThrow('task 1 failed');
  });

  it('changes concurrency while running', async () => {
    let running = 0;
    let maxRunning = 0;
    const map = new OrderedMap<number, number>(async (n) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await wait(5);
      running--;
      return n;
    }, () => {}, { concurrency: 1 });
    map.setConcurrency(4);
    for (let i = 0; i < 12; i++) await map.push(i);
    await map.drain();
    expect(map.concurrency).toBe(4);
    expect(maxRunning).toBe(4);
  });
});

describe('Batcher', () => {
  it('closes batches by count and by bytes', () => {
    const batcher = new Batcher<string>({ maxItems: 3, maxBytes: 10 });
    expect(batcher.add('a', 2)).toEqual([]);
    expect(batcher.add('b', 2)).toEqual([]);
    expect(batcher.add('c', 2)).toEqual([['a', 'b', 'c']]);
    expect(batcher.add('d', 6)).toEqual([]);
    expect(batcher.add('e', 6)).toEqual([['d']]);
    expect(batcher.add('big', 50)).toEqual([['e'], ['big']]);
    expect(batcher.take()).toEqual([]);
  });
});

describe('IdleTimer', () => {
  it('fires once idleMs after the last touch, not after the first', async () => {
    let fired = 0;
    const timer = new IdleTimer(300, () => fired++);
    for (let i = 0; i < 5; i++) {
      timer.touch();
      await wait(20);
    }
    expect(fired).toBe(0);
    await wait(700);
    expect(fired).toBe(1);
    timer.touch();
    timer.stop();
    await wait(400);
    expect(fired).toBe(1);
  });
});
