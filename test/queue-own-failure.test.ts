/**
 * Which failures of a partition job are the worker's own (handed back without using an attempt)
 * and which are the job's (they count): the classification the worker applies to what
 * exportPartition throws. The behaviour end to end is in queue-export.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { AuthenticationError, ConnectionError, InvalidRequestError, NotFoundError, PermissionDeniedError, ProtocolError, ServerError, TimeoutError } from '../src/core/errors.js';
import { DatabaseError } from '../src/destinations/database-error.js';
import { ownFailure } from '../src/queue/own-failure.js';

const where = { baseUrl: 'http://api.example:8080', to: 'postgres://tester@db.example:5432/exports' };
const endpoint = 'GET /api/v1/innerworks/inference/batch';
const database = 'postgres://tester@db.example:5432/exports';

describe('ownFailure', () => {
  it("takes an unreachable API and a refused key for the worker's own, naming the API's URL", () => {
    for (const error of [
      new ConnectionError(endpoint, 'connection failed (ECONNREFUSED: connect ECONNREFUSED 10.0.0.1:8080)', { code: 'ECONNREFUSED' }),
      new ConnectionError(endpoint, 'connection failed (ENOTFOUND)', { code: 'ENOTFOUND' }),
      new TimeoutError(endpoint, 'connect timeout', { code: 'UND_ERR_CONNECT_TIMEOUT' }),
      new AuthenticationError({ status: 401, endpoint, serverMessage: 'Invalid API key' }),
      new PermissionDeniedError({ status: 403, endpoint }),
      // Wrapped by a caller: the cause decides.
      new Error('partition 3 failed', { cause: new ConnectionError(endpoint, 'connection failed', { code: 'ECONNREFUSED' }) }),
    ]) {
      const outage = ownFailure(error, where);
      expect(outage, error.message).toMatchObject({ kind: 'api', target: 'http://api.example:8080', address: where.baseUrl });
      expect(outage!.reason).toContain('http://api.example:8080');
    }
  });

  it("takes an unreachable database, a server going away and a refused login for the worker's own", () => {
    for (const [code, message] of [
      ['ECONNREFUSED', 'cannot connect to PostgreSQL: connect ECONNREFUSED 10.0.0.2:5432 (is the server running and reachable there?)'],
      ['28P01', 'cannot connect to PostgreSQL: password authentication failed for user "tester" (check the user and password: the URL, PGPASSWORD or ~/.pgpass)'],
      ['57P01', 'writing to postgres table results failed: terminating connection due to administrator command'],
      ['57P03', 'cannot connect to PostgreSQL: the database system is starting up'],
      [undefined, 'writing to postgres table results failed: Connection terminated unexpectedly'],
      [undefined, 'the connection was lost: Connection terminated unexpectedly'],
      [undefined, 'cannot connect to PostgreSQL: SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string'],
    ] as const) {
      const outage = ownFailure(new DatabaseError(database, message, { code }), where);
      expect(outage, message).toMatchObject({ kind: 'database', target: database, address: where.to });
      // The target is named once, not twice.
      expect(outage!.reason.split(database)).toHaveLength(2);
    }
  });

  it("pauses a worker only for its own settings: its API (not one the export names), its database password (not the export's host or user)", () => {
    const refused = new ConnectionError(endpoint, 'connection failed', { code: 'ECONNREFUSED' });
    expect(ownFailure(refused, { ...where, workerBaseUrl: 'http://api.example:8080/' })).toMatchObject({ kind: 'api', own: true });
    expect(ownFailure(refused, { ...where, workerBaseUrl: 'http://other.example' })).toMatchObject({ kind: 'api', own: false });
    expect(ownFailure(new AuthenticationError({ status: 401, endpoint }), { ...where, workerBaseUrl: 'http://other.example' })).toMatchObject({ own: false });
    for (const [code, message, own] of [
      ['28P01', 'cannot connect to PostgreSQL: password authentication failed for user "tester"', true],
      [undefined, 'cannot connect to PostgreSQL: SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string', true],
      ['ENOTFOUND', 'cannot connect to PostgreSQL: getaddrinfo ENOTFOUND db.exampel', false],
      ['28000', 'cannot connect to PostgreSQL: no pg_hba.conf entry for host "10.0.0.3", user "nobody"', false],
      ['ECONNREFUSED', 'cannot connect to PostgreSQL: connect ECONNREFUSED 10.0.0.2:5432', false],
      ['08P01', 'cannot connect to PostgreSQL: The server does not support SSL connections', false],
    ] as const) {
      expect(ownFailure(new DatabaseError(database, message, { code }), where), message).toMatchObject({ kind: 'database', own });
    }
  });

  it("leaves the job's failures to count: refused requests, bad pages, server errors, tables of other columns, a missing database", () => {
    for (const error of [
      new InvalidRequestError({ status: 400, endpoint, serverMessage: 'batch_size out of range', serverCause: 'batch_size' }),
      new NotFoundError({ status: 404, endpoint }),
      new ServerError({ status: 503, endpoint, retries: 5 }),
      new ProtocolError(endpoint, 'response has no "results" array'),
      new ConnectionError(endpoint, 'response body cut short', { code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' }),
      new DatabaseError(database, 'table results exists with other columns', { code: 'TABLE_MISMATCH' }),
      new DatabaseError(database, 'partition 2 of export x was moved on by another writer', { code: 'CHECKPOINT_CONFLICT' }),
      new DatabaseError(database, 'cannot connect to PostgreSQL: database "exports" does not exist (create the database first)', { code: '3D000' }),
      new DatabaseError(database, 'writing to postgres table results failed: invalid byte sequence', { code: '22021' }),
      new Error('something else'),
    ]) {
      expect(ownFailure(error, where), error.message).toBeUndefined();
    }
  });
});
