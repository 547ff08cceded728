/**
 * Where a PostgreSQL destination connects, by libpq's conventions: a `postgres://` (or
 * `postgresql://`) URL, else `DATABASE_URL`; whatever the URL leaves out comes from the `PG*`
 * variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`), then from
 * libpq's defaults. The password is registered for redaction at once and kept out of every
 * description: errors and progress name `postgres://user@host:port/database` only.
 */
import { userInfo } from 'node:os';
import { ConfigError, registerSecret } from '../core/errors.js';
import { hasStrayAt, hideUrlPassword } from '../core/url-password.js';

/** libpq's `sslmode` values. */
export type PostgresSslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES: readonly PostgresSslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/** A resolved connection: what `pg` needs, plus a password-free description. */
export interface PostgresConnection {
  /** Host name, IP address, or a unix socket directory (starts with `/`). */
  host: string;
  port: number;
  user: string;
  database: string;
  /** Undefined: `pg` then tries `~/.pgpass` (libpq's password file). */
  password: string | undefined;
  sslMode: PostgresSslMode;
  /** `connect_timeout` in seconds (0: none). */
  connectTimeoutS: number;
  applicationName: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolve `url` (or `DATABASE_URL`) and the `PG*` variables of `env` into a connection. Throws
 * `ConfigError` naming `option` for a URL that is not a PostgreSQL URL; the message never
 * includes the password.
 */
export function resolvePostgresConnection(url: string | undefined, env: Env = process.env, option = 'connectionString'): PostgresConnection {
  const raw = url ?? (env.DATABASE_URL || undefined);
  const params = new Map<string, string>();
  if (raw !== undefined) {
    // Before parsing: a URL parser would take the tail of such a password for the host or query.
    refuseUnencodedUserinfo(raw, option);
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(option, 'must be a postgres://USER@HOST:PORT/DATABASE URL', withoutUserinfo(raw));
    }
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
      throw new ConfigError(option, 'must be a postgres://USER@HOST:PORT/DATABASE URL', withoutUserinfo(raw));
    }
    const decode = (text: string, part: string) => decodePart(text, part, raw, option);
    // Query parameters first, so that the URL's own parts win over them as in libpq.
    for (const [key, value] of parsed.searchParams) params.set(key === 'dbname' ? 'database' : key, value);
    const host = decode(parsed.hostname.replace(/^\[(.*)\]$/, '$1'), 'host');
    if (host) params.set('host', host);
    if (parsed.port) params.set('port', parsed.port);
    if (parsed.username) params.set('user', decode(parsed.username, 'user name'));
    if (parsed.password) params.set('password', decode(parsed.password, 'password'));
    const database = decode(parsed.pathname.replace(/^\//, ''), 'database name');
    if (database) params.set('database', database);
  }
  const pick = (name: string, envName: string) => params.get(name) ?? (env[envName] || undefined);
  const user = pick('user', 'PGUSER') ?? osUser();
  const portText = pick('port', 'PGPORT') ?? '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(option, 'has a port that is not 1..65535', portText);
  const sslMode = (pick('sslmode', 'PGSSLMODE') ?? 'prefer') as PostgresSslMode;
  if (!SSL_MODES.includes(sslMode)) throw new ConfigError(option, `sslmode must be one of ${SSL_MODES.join(', ')}`, sslMode);
  const timeoutText = pick('connect_timeout', 'PGCONNECT_TIMEOUT') ?? '10';
  const connectTimeoutS = Number(timeoutText);
  if (!Number.isInteger(connectTimeoutS) || connectTimeoutS < 0) throw new ConfigError(option, 'connect_timeout must be a whole number of seconds', timeoutText);
  const password = pick('password', 'PGPASSWORD');
  registerSecret(password);
  return {
    host: pick('host', 'PGHOST') ?? 'localhost',
    port,
    user,
    database: pick('database', 'PGDATABASE') ?? user,
    password,
    sslMode,
    connectTimeoutS,
    applicationName: pick('application_name', 'PGAPPNAME') ?? 'inference-streams',
  };
}

/** `postgres://user@host:port/database`: where a connection goes, never its password. */
export function describePostgres(connection: Pick<PostgresConnection, 'host' | 'port' | 'user' | 'database'>): string {
  const host = connection.host.startsWith('/') ? encodeURIComponent(connection.host) : connection.host.includes(':') ? `[${connection.host}]` : connection.host;
  return `postgres://${encodeURIComponent(connection.user)}@${host}:${connection.port}/${encodeURIComponent(connection.database)}`;
}

/** The `pg` client config of a connection (TLS per libpq's sslmode: require encrypts, verify-* also checks the certificate). */
export function pgClientConfig(connection: PostgresConnection): Record<string, unknown> {
  const ssl = connection.sslMode === 'require' ? { rejectUnauthorized: false } : connection.sslMode === 'verify-ca' || connection.sslMode === 'verify-full' ? { rejectUnauthorized: true } : false;
  return {
    host: connection.host,
    port: connection.port,
    user: connection.user,
    database: connection.database,
    password: connection.password,
    ssl,
    connectionTimeoutMillis: connection.connectTimeoutS * 1000,
    application_name: connection.applicationName,
  };
}

/**
 * The connection as one `postgres://` URL, password included (for handing on to the library,
 * e.g. from the CLI whose environment is not `process.env`); never print it.
 */
export function postgresUrl(connection: PostgresConnection): string {
  const host = connection.host.startsWith('/') ? encodeURIComponent(connection.host) : connection.host.includes(':') ? `[${connection.host}]` : connection.host;
  const auth = encodeURIComponent(connection.user) + (connection.password === undefined ? '' : `:${encodeURIComponent(connection.password)}`);
  const query = new URLSearchParams({ sslmode: connection.sslMode, connect_timeout: String(connection.connectTimeoutS), application_name: connection.applicationName });
  return `postgres://${auth}@${host}:${connection.port}/${encodeURIComponent(connection.database)}?${query}`;
}

/**
 * A URL with its password replaced, for messages about a URL that did not parse. A raw password
 * may hold `/ ? # @` (that is often why the URL did not parse), so everything from the `:` after
 * the user name up to the LAST `@` is redacted (all of the userinfo when the user name is not
 * plain), and a `password=` query parameter up to the end: better a message that hides too much
 * than one that shows the rest of a password.
 */
export function withoutPassword(url: string): string {
  return hideUrlPassword(url, '[REDACTED]');
}

/**
 * A raw `/`, `?` or `#` in a password ends the host part for a URL parser: in
 * `postgres://u:Xy7@Secret/Tail@db:5432/x` the host would be `Secret` and the rest of the password
 * the path, which messages show and DNS is asked about; in `postgres://u:1234?sslmode=disable&x=S@h/db`
 * the host would be `u`, the port the start of the password and `sslmode` read from it. The whole
 * userinfo comes before the first `/ ? #` after `//`, so an `@` after them means such a user name
 * or password (or an `@` in a query value, to be written `%40`): refused, showing nothing before
 * the last `@`. Which `@` the user meant cannot be known for sure, so the URL is not guessed at.
 */
function refuseUnencodedUserinfo(raw: string, option: string): void {
  if (!hasStrayAt(raw)) return;
  throw new ConfigError(
    option,
    'has a raw @ after the host (a user name or password with a raw @, /, ? or # in it, or an @ in a query value), so the URL cannot be read safely: percent-encode them (@ as %40, / as %2F, ? as %3F, # as %23) or give the password in PGPASSWORD or ~/.pgpass',
    withoutUserinfo(raw),
  );
}

/** `postgres://[REDACTED]@` and what follows the URL's last `@`: no part of the user name or password. */
function withoutUserinfo(raw: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(raw)?.[0];
  if (scheme === undefined || !raw.includes('@')) return withoutPassword(raw);
  return withoutPassword(`${scheme}[REDACTED]@${raw.slice(raw.lastIndexOf('@') + 1)}`);
}

/** A percent-decoded URL part; a malformed escape (`%ZZ`) is a ConfigError naming the option and the part, never showing a user name or password. */
function decodePart(text: string, part: string, raw: string, option: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    const secret = part === 'password' || part === 'user name';
    throw new ConfigError(option, `has a malformed percent-encoding in its ${part}: a % must be followed by two hex digits (write a % itself as %25)`, secret ? undefined : withoutPassword(raw));
  }
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'postgres';
  }
}
