/**
 * A parsed JSON value together with the exact text it was read from.
 *
 * Why: `JSON.stringify(JSON.parse(text))` is not the identity. `12345678901234567890` becomes
 * `12345678901234567000`, `1e400` becomes `null`, `-0` becomes `0`, `1.0` becomes `1`, and of two
 * equal keys only the last survives. A path that forwards what it read (ingest, import,
 * predictions' pass-through fields) sends `text`, so the same input arrives the same way on every
 * path; `value` is there for the checks (an `id`, the published limits) and is never re-serialized.
 */
export class JsonText<T = unknown> {
  /**
   * @param text  the value's JSON text as read, surrounding whitespace removed (it may hold raw
   *              newlines between tokens, e.g. a pretty-printed JSON-array element: see {@link oneLine})
   * @param value `JSON.parse(text)`
   */
  constructor(
    readonly text: string,
    readonly value: T,
  ) {}

  /**
   * What `JSON.stringify` (and so a CSV/Parquet/database json column, or a user's own
   * stringify) writes for it: the value, not a `{text, value}` wrapper. Paths that keep the text
   * (`stringifyJsonl`, `dataWriter`, `importWriter`) test for a JsonText first and write `text`.
   */
  toJSON(): T {
    return this.value;
  }
}

/** True for a {@link JsonText}. */
export function isJsonText(item: unknown): item is JsonText {
  return item instanceof JsonText;
}

const LINE_BREAKS = /[\r\n]/g;

/**
 * `text` on one line, for JSONL. A raw CR or LF can only stand between tokens in valid JSON (inside
 * a string it must be escaped), so replacing each with a space keeps the value and every digit of it.
 */
export function oneLine(text: string): string {
  return text.includes('\n') || text.includes('\r') ? text.replace(LINE_BREAKS, ' ') : text;
}
