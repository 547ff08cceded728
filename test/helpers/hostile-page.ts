/**
 * The page of hostile values of issue 15 (NUL, lone surrogates, timestamps no column can hold,
 * a `__proto__` key, formula-like text), as an Innerworks server sends it: shared by the tests
 * that export it to every destination and those that feed it to the JSONL export's byte path.
 */

/** A record whose typed column `column` cannot hold the value at `path`: the column is null, `extras` has the original there. */
export interface Hostile {
  name: string;
  path: string[];
  value: unknown;
  column: string;
}

export const HOSTILE: Hostile[] = [
  { name: 'NUL in a text column', path: ['result', 'fingerprinting', 'browser'], value: 'a\u0000b', column: 'browser' },
  { name: 'NUL in a field no column takes', path: ['result', 'geolocation', 'isp'], value: 'x\u0000y', column: '' },
  { name: 'lone high surrogate in a field no column takes', path: ['result', 'note'], value: 'alone \ud800 here', column: '' },
  { name: 'lone low surrogate in a text column', path: ['result', 'fingerprinting', 'deviceOs'], value: '\udc00x', column: 'device_os' },
  { name: 'timestamp 1e20', path: ['timestamp'], value: 1e20, column: 'timestamp' },
  { name: 'timestamp in year 10000', path: ['timestamp'], value: '+010000-01-01T00:00:00Z', column: 'timestamp' },
  { name: 'timestamp "Project 12"', path: ['timestamp'], value: 'Project 12', column: 'timestamp' },
  { name: 'timestamp "1"', path: ['timestamp'], value: '1', column: 'timestamp' },
  { name: 'timestamp on February 30th', path: ['timestamp'], value: '2024-02-30T00:00:00Z', column: 'timestamp' },
  { name: 'timestamp in epoch seconds', path: ['timestamp'], value: 1704103200, column: 'timestamp' },
  { name: 'timestamp without a zone', path: ['timestamp'], value: '2024-01-01T10:00:00', column: 'timestamp' },
  { name: 'timestamp on a leap second', path: ['timestamp'], value: '2016-12-31T23:59:60Z', column: 'timestamp' },
  { name: 'timestamp finer than a millisecond', path: ['timestamp'], value: '2024-01-01T10:00:00.123456Z', column: 'timestamp' },
  { name: 'boolean as text', path: ['result', 'geolocation', 'vpnIsEnabled'], value: 'yes', column: 'vpn_is_enabled' },
];

/** Values the typed columns hold as they are. */
export const KEPT = [
  { name: 'timestamp with an offset', timestamp: '2024-01-01T10:00:00.5+02:00', ms: Date.UTC(2024, 0, 1, 8, 0, 0, 500) },
  { name: 'timestamp with zero microseconds (Reinfer style)', timestamp: '2013-09-12T20:01:20.000000+00:00', ms: Date.UTC(2013, 8, 12, 20, 1, 20) },
  { name: 'timestamp in year 1', timestamp: '0001-01-01T00:00:00Z', ms: -62_135_596_800_000 },
  { name: 'the last millisecond of year 9999 (µs beyond 2^53)', timestamp: '9999-12-31T23:59:59.999Z', ms: 253_402_300_799_999 },
  { name: 'formula-like text stays as it is', timestamp: '2024-01-01T00:00:00Z', ms: Date.UTC(2024, 0, 1), browser: '=1+2' },
  { name: 'text starting with - and @', timestamp: '2024-01-01T00:00:00Z', ms: Date.UTC(2024, 0, 1), browser: '-5', deviceOs: '@SUM(A1)' },
];

function base(id: string): Record<string, unknown> {
  return { requestId: id, projectId: 'p', timestamp: '2024-01-01T00:00:00.000Z', result: { fingerprinting: { browser: 'Chrome', deviceOs: 'Linux' }, geolocation: { vpnIsEnabled: false } } };
}

export function setAt(record: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = record;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[path.at(-1)!] = value;
}

/** The records as the server sends them: JSON text (a `__proto__` key can only be written as text). */
export function hostileRecordTexts(): string[] {
  return [
    ...HOSTILE.map((hostile, i) => {
      const record = base(`h${String(i).padStart(2, '0')}`);
      setAt(record, hostile.path, hostile.value);
      return JSON.stringify(record);
    }),
    ...KEPT.map((kept, i) => {
      const record = base(`k${i}`);
      record.timestamp = kept.timestamp;
      if (kept.browser !== undefined) setAt(record, ['result', 'fingerprinting', 'browser'], kept.browser);
      if (kept.deviceOs !== undefined) setAt(record, ['result', 'fingerprinting', 'deviceOs'], kept.deviceOs);
      return JSON.stringify(record);
    }),
    // A `__proto__` key in a field no column takes.
    JSON.stringify(base('proto')).replace('"result":{', '"result":{"__proto__":{"polluted":true},'),
  ];
}

/** The page of every hostile record. */
export function hostilePageText(): string {
  return `{"batchSize":100,"checkpoint":"cGFnZS0x","results":[${hostileRecordTexts().join(',')}]}`;
}
