/**
 * Which failures of a partition job are the worker's own rather than the job's: the API or the
 * database cannot be reached from this worker, or refuses its credentials. Such a failure says
 * nothing about the partition (another worker, or this one once the outage is over, would
 * succeed), so it must not use up the job's attempts. Failures of the data or of the request (a
 * 4xx about the request, a ProtocolError, a table of other columns) are the job's and still count.
 */
import { AuthenticationError, PermissionDeniedError, TransportError, describeUrl, redact } from '../core/errors.js';
import { DatabaseError, isDatabaseUnavailable } from '../destinations/database-error.js';

/** What failed, and how to tell when it works again. */
export interface Outage {
  /** `api`: the Innerworks API; `database`: the export's PostgreSQL. */
  kind: 'api' | 'database';
  /**
   * True when what failed is this worker's own setting: its API base URL (from its environment,
   * when the export names none) or key, or its database password (refused or missing). Only
   * these pause the worker: an address the export names (its `baseUrl`, its database host, user
   * or sslmode) fails for every worker alike, so it is the job's to bear (handed back, up to a cap).
   */
  own: boolean;
  /** Where, without secrets: the API's base URL or `postgres://user@host:port/db`. */
  target: string;
  /** One line for logs and `status`: what failed and the error's message (redacted). */
  reason: string;
  /** What to probe: the base URL the job used, or the job's `postgres://` target (job data holds no secret). */
  address: string;
}

/** The outage behind `error`, or undefined when the failure is the job's. */
export function ownFailure(error: unknown, where: { baseUrl: string; to: string; workerBaseUrl?: string }): Outage | undefined {
  // The export named no other API than the worker's own (from its environment).
  const ownApi = where.workerBaseUrl === undefined || apiTarget(where.workerBaseUrl) === apiTarget(where.baseUrl);
  for (let cause = error, depth = 0; cause instanceof Error && depth < 8; cause = cause.cause, depth++) {
    if (cause instanceof AuthenticationError || cause instanceof PermissionDeniedError) {
      return outage('api', ownApi, where.baseUrl, apiTarget(where.baseUrl), `the Innerworks API refused this worker's key (HTTP ${cause.status})`, cause);
    }
    // A body cut short is a fault of that response, not of the way to the server.
    if (cause instanceof TransportError && cause.code !== 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
      return outage('api', ownApi, where.baseUrl, apiTarget(where.baseUrl), 'the Innerworks API is unreachable from this worker', cause);
    }
    if (cause instanceof DatabaseError && isDatabaseUnavailable(cause)) {
      return outage('database', refusedPassword(cause), where.to, cause.target, 'the database is unreachable from this worker or refused its login', cause);
    }
  }
  return undefined;
}

/** The database refused this worker's password, or it has none: the one database setting that is the worker's own. */
function refusedPassword(error: DatabaseError): boolean {
  return error.code === '28P01' || /password must be a string/i.test(error.message);
}

/** The API's base URL as it may be shown: origin and path, no user info or query. */
export function apiTarget(baseUrl: string): string {
  return describeUrl(baseUrl).replace(/\/$/, '');
}

function outage(kind: Outage['kind'], own: boolean, address: string, target: string, what: string, error: Error): Outage {
  const said = error.message.includes(target) ? error.message : `${target}: ${error.message}`;
  return { kind, own, target, reason: redact(`${what}: ${said}`), address };
}
