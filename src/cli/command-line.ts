/**
 * Commands printed in hints ("to resume: …", "start workers with …") as they can be copied and
 * pasted into a POSIX shell: real values, each quoted where the shell needs it, and URLs with
 * their password left out (never printed; the hint says so).
 */
import { hideUrlPassword } from '../core/url-password.js';
import type { OptionValues } from './command.js';

/** Quote for a POSIX shell: plain words stay as they are, anything else goes in single quotes. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(value) ? value : singleQuote(value);
}

/** `'value'`, with each `'` written `'\''`. */
export const singleQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

const MARK = '\u0000';

/**
 * `url` with its password removed, not masked (`redis://:pw@host:6379` → `redis://host:6379`,
 * `postgres://me:pw@db/x` → `postgres://me@db/x`, `?password=…` dropped), so that it can be pasted;
 * `removed` says whether there was one. A user name that is not plain goes too (see hideUrlPassword).
 */
export function urlWithoutPassword(url: string): { url: string; removed: boolean } {
  const hidden = hideUrlPassword(url, MARK);
  if (!hidden.includes(MARK)) return { url, removed: false };
  const stripped = hidden
    .replace(/[?&]password=\u0000$/i, '')
    .replace(/:\u0000@/, '@')
    .replace(/\u0000@/, '')
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)@/i, '$1');
  return { url: stripped, removed: true };
}

/** A URL-looking value (`scheme://…`) without its password; anything else as it is. */
function shownValue(value: string, removed: { any: boolean }): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  const result = urlWithoutPassword(value);
  if (result.removed) removed.any = true;
  return result.url;
}

/** A copyable command and whether a password was left out of it. */
export interface CopyableCommand {
  /** The words joined, quoted for the shell: `inference-streams export --out 'my file.jsonl'`. */
  text: string;
  /** A URL's password was left out (the hint should say where to put it). */
  passwordLeftOut: boolean;
}

/**
 * `inference-streams WORDS…` with the flags of `values` (`--flag value`, `--flag` for a true
 * boolean, a repeated flag for each of a list), less `omit`, each value shell-quoted and URLs
 * without their password. `help` is never repeated.
 */
export function copyableCommand(words: readonly string[], values: OptionValues, omit: readonly string[] = []): CopyableCommand {
  const removed = { any: false };
  const parts = ['inference-streams', ...words.map(shellQuote)];
  for (const [flag, value] of Object.entries(values)) {
    if (flag === 'help' || omit.includes(flag) || value === undefined || value === false) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one === true) parts.push(`--${flag}`);
      else if (typeof one === 'string') parts.push(`--${flag}`, shellQuote(shownValue(one, removed)));
    }
  }
  return { text: parts.join(' '), passwordLeftOut: removed.any };
}

/** A hint's command, with a note when a password was left out of it. */
export function commandHint(command: CopyableCommand): string {
  return `${command.text}${command.passwordLeftOut ? ' (add the password, left out here, back to its URL)' : ''}`;
}
