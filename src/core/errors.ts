/**
 * One error hierarchy for the whole library, and the one `redact()` every message passes through.
 *
 * Every error's message, stack and `util.inspect()` output is redacted: API keys, bearer tokens
 * and the signature of a pre-signed URL never reach a log, even when a server echoes them back.
 */
import { inspect } from 'node:util';

const REDACTED = '[REDACTED]';

/** Credentials seen at run time (options, env): redacted verbatim wherever they appear. */
const knownSecrets = new Set<string>();

/**
 * Remember a credential so that `redact()` removes it verbatim from any text, whatever its
 * shape. Called by every piece that accepts an API key or token.
 */
export function registerSecret(secret: string | undefined): void {
  // Very short strings would redact ordinary words; real keys are long.
  if (secret && secret.length >= 6) knownSecrets.add(secret);
}

// Query parameters that carry a signature or credential in pre-signed object-store URLs and APIs.
const SECRET_QUERY_PARAMS =
  'X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|X-Goog-Signature|X-Goog-Credential|' +
  'Signature|sig|signature|token|access_token|api_key|apikey|api-key|key|code|secret|password';
const SECRET_QUERY = new RegExp(`([?&](?:${SECRET_QUERY_PARAMS})=)[^&#\\s"'<>]*`, 'gi');
const SECRET_HEADER =
  /((?:x-api-key|authorization|api-key|x-amz-security-token)["']?\s*[:=]\s*["']?)(?!Bearer\b|Basic\b)([^"'\s,;}&]+)/gi;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/**
 * Replace secrets in `text` by `[REDACTED]`: `x-api-key` and `Authorization` header values,
 * bearer tokens, signature-bearing query parameters, and every registered credential.
 */
export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out.replace(BEARER, `$1 ${REDACTED}`).replace(SECRET_HEADER, `$1${REDACTED}`).replace(SECRET_QUERY, `$1${REDACTED}`);
}

/** A URL as `origin + path`, without its query string (where pre-signed URLs keep their signature). */
export function describeUrl(url: string | URL): string {
  try {
    const parsed = typeof url === 'string' ? new URL(url) : url;
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return redact(String(url)).replace(/\?.*$/, '');
  }
}

/** Base class of every error this library throws. Its message and stack are always redacted. */
export class InferenceStreamsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(redact(message), options);
    this.name = new.target.name;
    if (this.stack) this.stack = redact(this.stack);
  }

  /** Replace the message (e.g. to add a retry count), keeping the stack's first line in step. */
  protected setMessage(message: string): void {
    const clean = redact(message);
    if (this.stack) this.stack = this.stack.replace(`${this.name}: ${this.message}`, `${this.name}: ${clean}`);
    this.message = clean;
  }

  [inspect.custom](_depth: number, options: object, inspectFn: typeof inspect): string {
    const props: Record<string, unknown> = {};
    for (const key of Object.keys(this)) props[key] = (this as unknown as Record<string, unknown>)[key];
    const extra = Object.keys(props).length > 0 ? ` ${inspectFn(props, options)}` : '';
    const cause = this.cause instanceof Error ? `\n  [cause]: ${this.cause.name}: ${this.cause.message}` : '';
    return redact(`${this.stack ?? `${this.name}: ${this.message}`}${extra}${cause}`);
  }
}

/** An option is missing or out of range. Thrown before any request is made. */
export class ConfigError extends InferenceStreamsError {
  /** The option's name, e.g. `batchSize`. */
  readonly option: string;
  constructor(option: string, allowed: string, received?: unknown) {
    const got = received === undefined ? '' : ` (got ${formatValue(received)})`;
    super(`Invalid option "${option}": ${allowed}${got}`);
    this.option = option;
  }
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return typeof value;
}

/** The operation was aborted by the caller (an `AbortSignal`, or `destroy()` of a stream). */
export class AbortError extends InferenceStreamsError {
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Facts about a failed HTTP exchange, used to build an {@link ApiError}. */
export interface ApiErrorDetails {
  /** HTTP status code. */
  status: number;
  /** Method and path, e.g. `GET /api/v1/innerworks/inference/batch`; never a query string. */
  endpoint: string;
  /** The server's human-readable message (`message` or `error` field, or the raw body). */
  serverMessage?: string;
  /** The server's machine-readable cause, e.g. `batch_size` (Innerworks 400s). */
  serverCause?: string;
  /** The parsed error body, when it was JSON. */
  body?: unknown;
  /** Retries made before giving up. */
  retries?: number;
  /** What the server asked us to wait (Retry-After), in ms. */
  retryAfterMs?: number;
  /** What the user can do about it, e.g. "check INNERWORKS_API_KEY". */
  hint?: string;
}

/** The server answered with an error status. */
export class ApiError extends InferenceStreamsError {
  readonly status: number;
  readonly endpoint: string;
  /** The server's message (`message` or `error` field of the body). */
  readonly serverMessage: string | undefined;
  /** The server's `cause` field (e.g. `"batch_size"`), also available as `error.cause`. */
  readonly serverCause: string | undefined;
  readonly body: unknown;
  /** How many retries were made before this error was thrown. */
  retries: number;
  /** The wait the server asked for (Retry-After / retry-after-ms), in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(details: ApiErrorDetails) {
    const serverCause = details.serverCause === undefined ? undefined : redact(details.serverCause);
    super(ApiError.compose(details), serverCause === undefined ? undefined : { cause: serverCause });
    this.status = details.status;
    this.endpoint = details.endpoint;
    this.serverMessage = details.serverMessage === undefined ? undefined : redact(details.serverMessage);
    this.serverCause = serverCause;
    this.body = details.body;
    this.retries = details.retries ?? 0;
    this.retryAfterMs = details.retryAfterMs;
    Object.defineProperty(this, 'body', { enumerable: false });
  }

  private static compose(d: ApiErrorDetails): string {
    const said = d.serverMessage ? `: ${d.serverMessage}` : '';
    const cause = d.serverCause ? ` (cause: ${d.serverCause})` : '';
    const retries = d.retries ? ` after ${d.retries} ${d.retries === 1 ? 'retry' : 'retries'}` : '';
    const hint = d.hint ? `. ${d.hint}` : '';
    return `${d.endpoint} failed with HTTP ${d.status}${retries}${said}${cause}${hint}`;
  }

  /** Record the number of retries made before giving up, and say so in the message. */
  setRetries(retries: number): void {
    if (retries === this.retries || retries === 0) return;
    this.retries = retries;
    this.setMessage(
      this.message.replace(/ failed with HTTP (\d+)( after \d+ retr(?:y|ies))?/, ` failed with HTTP $1 after ${retries} ${retries === 1 ? 'retry' : 'retries'}`),
    );
  }
}

/** 401: the API key or token is missing or wrong. */
export class AuthenticationError extends ApiError {}
/** 403: the credentials lack a permission, or a pre-signed URL's signature was refused. */
export class PermissionDeniedError extends ApiError {}
/** 404: unknown resource, e.g. a model version or request id. */
export class NotFoundError extends ApiError {}
/** 400/409/413/422: the server refused the request as invalid; `serverCause` says which field. */
export class InvalidRequestError extends ApiError {}
/** 429: too many requests; retried until `maxRetries`, or refused when Retry-After is too long. */
export class RateLimitError extends ApiError {}
/** 5xx: the server failed; retried until `maxRetries`. */
export class ServerError extends ApiError {}

/** Pick the error class for an HTTP status. */
export function apiErrorClass(status: number): typeof ApiError {
  if (status === 401) return AuthenticationError;
  if (status === 403) return PermissionDeniedError;
  if (status === 404) return NotFoundError;
  if (status === 429) return RateLimitError;
  if (status === 400 || status === 409 || status === 413 || status === 422) return InvalidRequestError;
  if (status >= 500) return ServerError;
  return ApiError;
}

/** Build the right {@link ApiError} subclass for a response. */
export function createApiError(details: ApiErrorDetails): ApiError {
  const ErrorClass = apiErrorClass(details.status);
  return new ErrorClass(details);
}

/** Base of errors with no HTTP status: the request never got a complete answer. */
export class TransportError extends InferenceStreamsError {
  readonly endpoint: string;
  /** The low-level error code, e.g. `ECONNRESET`, `UND_ERR_SOCKET`. */
  readonly code: string | undefined;
  retries = 0;
  constructor(endpoint: string, message: string, options?: { cause?: unknown; code?: string }) {
    super(`${endpoint}: ${message}`, options);
    this.endpoint = endpoint;
    this.code = options?.code;
  }

  /** Record the number of retries made before giving up, and say so in the message. */
  setRetries(retries: number): void {
    if (retries === 0 || retries === this.retries) return;
    this.retries = retries;
    this.setMessage(`${this.message.replace(/ \(after \d+ retr(?:y|ies)\)$/, '')} (after ${retries} ${retries === 1 ? 'retry' : 'retries'})`);
  }
}

/** The request did not finish within `timeoutMs`. */
export class TimeoutError extends TransportError {}
/** The connection was refused, reset or closed, or the body was cut short. */
export class ConnectionError extends TransportError {}

/**
 * The body of a request failed on our side: its file could not be read, or it was not the size
 * its Content-Length said (the file changed while it was sent). The request was cut short, so the
 * server kept nothing of it. Not retried: the same body would fail again. A bad line found while
 * a body streams is a {@link JsonlError} instead.
 */
export class RequestBodyError extends InferenceStreamsError {
  readonly endpoint: string;
  /** The low-level error code, e.g. `ENOENT`, `EIO`, `UND_ERR_REQ_CONTENT_LENGTH_MISMATCH`. */
  readonly code: string | undefined;
  constructor(endpoint: string, message: string, options?: { cause?: unknown; code?: string }) {
    super(`${endpoint}: ${message}`, options);
    this.endpoint = endpoint;
    this.code = options?.code;
  }
}

/** The server answered 2xx with a body we cannot use: unparseable, wrong shape, or `status: "error"`. */
export class ProtocolError extends InferenceStreamsError {
  readonly endpoint: string;
  constructor(endpoint: string, message: string, options?: { cause?: unknown }) {
    super(`${endpoint}: ${message}`, options);
    this.endpoint = endpoint;
  }
}

/** A JSONL line could not be used. `line` is 1-based. */
export class JsonlError extends InferenceStreamsError {
  readonly line: number;
  readonly excerpt: string;
  /** What is wrong with the line, without its place (e.g. `the "id" is missing`). */
  readonly problem: string;
  constructor(line: number, problem: string, text: string, options?: { cause?: unknown; source?: string }) {
    const excerpt = text.length > 80 ? `${text.slice(0, 77)}...` : text;
    const where = options?.source ? `${options.source}:${line}` : `line ${line}`;
    super(`Bad JSONL at ${where}: ${problem}: ${JSON.stringify(excerpt)}`, options);
    this.line = line;
    this.excerpt = redact(excerpt);
    this.problem = redact(problem);
  }
}

/**
 * An element of a JSON array (see `parseJsonArray`) could not be used, or the array around it is
 * malformed. A `JsonlError` too, so one `catch` handles bad input of either format.
 */
export class JsonArrayError extends JsonlError {
  /** 0-based index of the element, or undefined when the fault is between elements. */
  readonly index: number | undefined;
  constructor(position: { line: number; index?: number }, problem: string, text: string, options?: { cause?: unknown; source?: string }) {
    super(position.line, problem, text, options);
    this.index = position.index;
    const where = `${options?.source ? `${options.source}:` : 'line '}${position.line}`;
    const element = position.index === undefined ? '' : ` element [${position.index}]`;
    const excerpt = this.excerpt.length > 0 ? `: ${JSON.stringify(this.excerpt)}` : '';
    this.setMessage(`Bad JSON array at ${where}${element}: ${problem}${excerpt}`);
  }
}

/**
 * The disk filled up (ENOSPC, or a quota: EDQUOT) while writing `path`. What was saved before is
 * intact, so the message says how to go on; `code` stays the system's.
 */
export class DiskFullError extends InferenceStreamsError {
  readonly code: string;
  readonly path: string;
  constructor(path: string, cause: NodeJS.ErrnoException) {
    super(`No space left on the device while writing ${path} (${cause.code}): free space and run the same command again to resume`, { cause });
    this.code = cause.code ?? 'ENOSPC';
    this.path = path;
  }

  /** True for a write error that means the disk (or the user's quota) is full. */
  static matches(error: unknown): error is NodeJS.ErrnoException {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    return code === 'ENOSPC' || code === 'EDQUOT';
  }
}

/**
 * An output file (or database file) this run wrote was deleted or replaced by another file while
 * the run went on: writes to the open descriptor still succeed, but what they wrote is gone.
 */
export class OutputLostError extends InferenceStreamsError {
  /** The output that was lost. */
  readonly path: string;
  /** `deleted`, or `replaced` by another file at the same path. */
  readonly how: 'deleted' | 'replaced';
  constructor(path: string, how: 'deleted' | 'replaced', message: string) {
    super(message);
    this.path = path;
    this.how = how;
  }
}

/** A SafetyKit request (import or add) ended in `failed`. */
export class ImportFailedError extends InferenceStreamsError {
  readonly requestId: string;
  readonly reason: string | undefined;
  constructor(requestId: string, reason: string | undefined) {
    super(`SafetyKit request ${requestId} failed${reason ? `: ${reason}` : ''}`);
    this.requestId = requestId;
    this.reason = reason === undefined ? undefined : redact(reason);
  }
}

/** True for errors a retry may cure: 408/409/429/5xx and transport failures. */
export function isRetryableError(error: unknown): boolean {
  if (error instanceof TransportError) return true;
  if (error instanceof ApiError) return isRetryableStatus(error.status);
  return false;
}

/** Statuses that are retried: 408, 409, 429 and every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}
