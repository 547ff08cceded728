/**
 * Shared by the destination tests (test/destinations-*.test.ts): an emulator per test, closed
 * after it; file hashes; reading a DuckDB file as another program would; and the records and
 * positions the database destination tests write.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach } from 'vitest';
import type { PartitionPosition } from '../../src/destinations/destination.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';

/** Registers an afterEach that closes the emulator a test started; returns the function that starts it. */
export function emulatorPerTest(): (options: EmulatorOptions) => Promise<Emulator> {
  let current: Emulator | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (options) => {
    current = await startEmulator(options);
    return current;
  };
}

/** The SHA-256 of a file, hex. */
export async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Query a DuckDB file with a fresh instance (the writer has let go of it), as another program would. */
export async function queryDuckdb(database: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(database);
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    // Both, or the file stays locked for the next writer.
    connection.closeSync();
    instance.closeSync();
  }
}

/** An Innerworks-like record: `vpnIsEnabled` on every third, and an `isp` field no column takes (it goes to extras). */
export function sampleRecord(i: number): object {
  return {
    requestId: `req-${i}`,
    projectId: 'p',
    timestamp: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
    result: { fingerprinting: { browser: 'Chrome' }, geolocation: { vpnIsEnabled: i % 3 === 0, isp: 'later field' } },
  };
}

/** A position after `records` records in pages of two. */
export function position(records: number, checkpoint: string | undefined, done = false): PartitionPosition {
  return { records, pages: records / 2, checkpoint, done };
}
