// The order of a database page write (checkpointed-table.ts), on a recording table: the page is
// made rows while BEGIN travels, before the first await, so its record objects are not held
// through the transaction's round trips (they were, and were promoted into V8's old generation:
// the peak-RSS profile of issue 18). The real databases' behaviour is in destinations-postgres*
// and destinations-duckdb* tests.
import { describe, expect, it } from 'vitest';
import { CheckpointedTableDestination, type SqlTable } from '../src/destinations/checkpointed-table.js';
import { innerworksMapping, type CellValue } from '../src/destinations/columns.js';

describe('CheckpointedTableDestination', () => {
  it('encodes the page while BEGIN is in flight, then inserts the rows and saves the position in the same transaction', async () => {
    const calls: string[] = [];
    let gate: Promise<void> | undefined;
    let openGate = () => undefined as void;
    const table: SqlTable<CellValue[][]> = {
      target: 'recording:',
      table: { schema: undefined, name: 'results' },
      description: 'recording table results',
      async connect() {},
      async rows() {
        return [];
      },
      async run(sql) {
        const statement = sql.trim().split(/\s+/)[0];
        calls.push(`${statement} sent`);
        if (statement === 'BEGIN' && gate) {
          await gate;
          calls.push('BEGIN done');
        }
        // The guarded position upsert changes its one row.
        return /DO UPDATE/.test(sql) ? 1 : 0;
      },
      async prepare() {},
      encode(records, mapping) {
        calls.push(`encode ${records.length}`);
        return records.map((record) => mapping.row(record));
      },
      async insert(rows) {
        calls.push(`insert ${rows.length} ${String(rows[0][0])}`);
      },
      async rollback() {
        calls.push('ROLLBACK');
      },
      close() {},
    };
    const destination = new CheckpointedTableDestination(table, innerworksMapping());
    await destination.open({ exportId: 'e', initial: [{ records: 0, pages: 0, done: false }] });
    calls.length = 0;
    gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const records = [{ requestId: 'r1' }, { requestId: 'r2' }];
    const written = destination.write(0, records, { records: 2, pages: 1, checkpoint: 'c1', done: false });
    // Let the write start: it waits for BEGIN's answer now.
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual(['BEGIN sent', 'encode 2']);
    openGate();
    await written;
    expect(calls).toEqual(['BEGIN sent', 'encode 2', 'BEGIN done', 'insert 2 r1', 'INSERT sent', 'COMMIT sent']);
  });
});
