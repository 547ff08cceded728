/** The `concurrency: 'auto'` controller, driven with made-up latencies (no clocks, no servers). */
import { describe, expect, it } from 'vitest';
import { AdaptiveConcurrency } from '../src/reinfer/adaptive-concurrency.js';

function controller(max = 16) {
  const changes: number[] = [];
  const ac = new AdaptiveConcurrency({ max, onChange: (level) => changes.push(level) });
  return { ac, changes };
}

describe('AdaptiveConcurrency', () => {
  it('starts at 2 and adds one per batch while latency is flat and the level is in use, up to max', () => {
    const { ac, changes } = controller(5);
    expect(ac.level).toBe(2);
    for (let i = 0; i < 10; i++) ac.onSuccess(100);
    expect(ac.level).toBe(5);
    expect(changes).toEqual([3, 4, 5]);
  });

  it('does not raise a level the input cannot fill, nor on small final batches', () => {
    const { ac } = controller();
    for (let i = 0; i < 10; i++) ac.onSuccess(100, true, false);
    for (let i = 0; i < 10; i++) ac.onSuccess(100, false, true);
    expect(ac.level).toBe(2);
  });

  it('halves on a 429, once per burst, and stays under the level that drew it', () => {
    const { ac } = controller();
    for (let i = 0; i < 7; i++) ac.onSuccess(100); // 2 → 9
    expect(ac.level).toBe(9);
    const sentAt = performance.now();
    ac.onRateLimited(sentAt, 9);
    expect(ac.level).toBe(4);
    ac.onRateLimited(sentAt - 1, 9); // sent before the decrease: old news
    ac.onRateLimited(performance.now(), 9); // more in flight than the new level: still draining
    expect(ac.level).toBe(4);
    for (let i = 0; i < 20; i++) ac.onSuccess(100);
    expect(ac.level).toBe(8); // under the ceiling of 9
  });

  it('probes above the ceiling again only after a long calm stretch', () => {
    const { ac } = controller();
    for (let i = 0; i < 2; i++) ac.onSuccess(100); // 2 → 4
    ac.onRateLimited(performance.now(), 4); // ceiling 4, level 2
    for (let i = 0; i < 5; i++) ac.onSuccess(100);
    expect(ac.level).toBe(3);
    for (let i = 0; i < 16 * 3; i++) ac.onSuccess(100);
    expect(ac.level).toBe(4);
  });

  it('steps down when latency keeps rising (queueing) and ignores noise that is merely not flat', () => {
    const { ac } = controller();
    for (let i = 0; i < 4; i++) ac.onSuccess(100); // 2 → 6
    ac.onSuccess(150); // not flat, not rising: no change
    expect(ac.level).toBe(6);
    ac.onSuccess(250);
    ac.onSuccess(250);
    expect(ac.level).toBe(6);
    ac.onSuccess(250); // third rising sample in a row
    expect(ac.level).toBe(5);
  });

  it('never goes below 1', () => {
    const { ac } = controller();
    for (let i = 0; i < 5; i++) ac.onRateLimited(performance.now() + 1000 * (i + 1), 1);
    expect(ac.level).toBe(1);
  });
});
