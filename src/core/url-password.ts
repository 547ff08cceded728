/**
 * A URL with credentials as it may be shown in a message (`postgres://`, `redis://`), also when it
 * did not parse: a raw password may hold `/ ? # @` (often why it did not parse) and a user name
 * may hold `/` or a space, so no regex over "user:password@" can be trusted to find its end.
 */

/**
 * `url` with its userinfo hidden: `SCHEME://USER:MARK@rest` when the user name is plain (no
 * `: / ? # @`, no space), else `SCHEME://MARK@rest`, where `rest` follows the LAST `@` of the
 * URL; a `password=` query parameter is hidden up to the end. Hides too much rather than show
 * the tail of a password.
 */
export function hideUrlPassword(url: string, mark: string): string {
  // The query's password first: it may hold an `@` that would be taken for the end of the userinfo.
  const hidden = url.replace(/([?&]password=).*$/is, `$1${mark}`);
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(hidden)?.[0];
  if (scheme === undefined) return hidden;
  const rest = hidden.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at < 0) return hidden;
  const userinfo = rest.slice(0, at);
  const tail = rest.slice(at + 1);
  const plainUser = /^[^:/?#@\s]*(?=:|$)/.exec(userinfo)?.[0];
  if (plainUser === undefined) return `${scheme}${mark}@${tail}`;
  return plainUser === userinfo ? `${scheme}${userinfo}@${tail}` : `${scheme}${plainUser}:${mark}@${tail}`;
}

/**
 * True when a raw `@` follows the first `/`, `?` or `#` after `//`: the whole userinfo must come
 * before them, so such an `@` means a user name or password with a raw `/ ? # @` in it (whose
 * tail a URL parser would take for the host, port or query), or an `@` in a query value that
 * must be written `%40`.
 */
export function hasStrayAt(url: string): boolean {
  const start = url.indexOf('//');
  if (start < 0) return false;
  const rest = url.slice(start + 2);
  const end = rest.search(/[/?#]/);
  return end >= 0 && rest.indexOf('@', end) >= 0;
}
