/** The arithmetic behind `status`'s percentage, rate and time left (queue/job-measures.ts). */
import { describe, expect, it } from 'vitest';
import { etaMs, jobShare, partitionShare, recordsPerSecond, toPercent, type PartitionFacts } from '../src/queue/job-measures.js';

const exportPartition = (over: Partial<PartitionFacts>): PartitionFacts => ({ state: 'active', records: 10, done: false, startTime: 1000, endTime: 2000, ...over });
const predictPartition = (over: Partial<PartitionFacts>): PartitionFacts => ({ state: 'active', records: 10, done: false, startByte: 100, endByte: 300, ...over });

describe('partitionShare', () => {
  it('is the share of the time range up to the last record for an export, of the bytes for predictions', () => {
    expect(partitionShare(exportPartition({ positionTime: 1250 }))).toBe(0.25);
    expect(partitionShare(predictPartition({ positionByte: 250 }))).toBe(0.75);
  });
  it('is 1 once completed or done, 0 with no record yet, unknown with records but no position', () => {
    expect(partitionShare(exportPartition({ state: 'completed', positionTime: 1500 }))).toBe(1);
    expect(partitionShare(predictPartition({ done: true }))).toBe(1);
    expect(partitionShare(exportPartition({ state: 'waiting', records: 0 }))).toBe(0);
    expect(partitionShare(exportPartition({ records: 5 }))).toBeUndefined();
  });
  it('stays within 0..1 for a position outside the range', () => {
    expect(partitionShare(exportPartition({ positionTime: 500 }))).toBe(0);
    expect(partitionShare(predictPartition({ positionByte: 400 }))).toBe(1);
  });
});

describe('jobShare', () => {
  it('weights each partition by the size of its range', () => {
    // 100 ms at 100 %, 300 ms at 0 %: a quarter of the time range.
    expect(jobShare([exportPartition({ startTime: 0, endTime: 100, state: 'completed' }), exportPartition({ startTime: 100, endTime: 400, records: 0 })])).toBe(0.25);
  });
  it('is unknown when one partition is, and counts partitions alike when every range is empty', () => {
    expect(jobShare([exportPartition({ state: 'completed' }), exportPartition({ records: 3 })])).toBeUndefined();
    expect(jobShare([predictPartition({ startByte: 0, endByte: 0, state: 'completed' }), predictPartition({ startByte: 0, endByte: 0, records: 0 })])).toBe(0.5);
    expect(jobShare([])).toBeUndefined();
  });
});

describe('toPercent, recordsPerSecond, etaMs', () => {
  it('a percentage reads 100 only once done', () => {
    expect(toPercent(0.99999, false)).toBe(99.9);
    expect(toPercent(0.4567, false)).toBe(45.6);
    expect(toPercent(1, true)).toBe(100);
  });
  it('a rate over the time worked on, none before the start', () => {
    expect(recordsPerSecond(5000, 10_000, 12_000)).toBe(2500);
    expect(recordsPerSecond(1, 0, 3000)).toBe(0.3);
    expect(recordsPerSecond(100, undefined, 1000)).toBeUndefined();
    expect(recordsPerSecond(100, 1000, 1000)).toBeUndefined();
  });
  it('time left at the pace so far: none before anything is done, 0 when all is', () => {
    // A quarter done in 30 s: 90 s left.
    expect(etaMs(0.25, 0, 30_000)).toBe(90_000);
    expect(etaMs(0, 0, 30_000)).toBeUndefined();
    expect(etaMs(0.5, undefined, 30_000)).toBeUndefined();
    expect(etaMs(1, 0, 30_000)).toBe(0);
  });
});
