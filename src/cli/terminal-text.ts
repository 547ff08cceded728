/**
 * Text for the terminal, from sources the user does not control: an error message can quote a
 * bad input line (V8's JSON.parse messages quote the raw text), and raw control bytes in it
 * would be interpreted by the terminal (an ESC sequence can move the cursor, recolour or retitle
 * the window; a bidi override can make the text read differently). And the hint for errors that
 * come from a system limit rather than from the input.
 */

/**
 * C0 controls other than tab and newline, DEL, C1 controls, and the bidi embedding, override and
 * isolate characters.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with each control character written as a visible escape (`\x1b`, `\u202e`). */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (char) => {
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * One JSON line for stdout: `JSON.stringify` escapes C0 controls but writes DEL, C1 controls and
 * bidi characters (which can come from a bad input line quoted in a message) as they are; here
 * they are `\u` escapes too. Valid JSON either way: outside strings JSON has no such characters.
 */
export function jsonLineSafe(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What to do about an error that is a system limit (too many open files), or '' for any other error. */
export function systemLimitHint(error: unknown): string {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EMFILE' || code === 'ENFILE') {
      return '; the process may open no more files: raise the limit of open files (e.g. ulimit -n 4096) or lower --concurrency';
    }
  }
  return '';
}
