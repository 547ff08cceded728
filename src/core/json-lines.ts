/**
 * `JsonLines`: JSON values as JSONL bytes, one value a line, all in one buffer, with where each
 * line ends. A page of records in this form goes to a JSONL file with one write, and never exists
 * as objects: see `./array-member-lines.ts`, which makes one from a response body.
 */

export class JsonLines {
  /**
   * @param bytes every line, each ending with `\n` (valid UTF-8, one JSON value a line)
   * @param ends  the offset in `bytes` just past each line's `\n`, in order
   */
  constructor(
    readonly bytes: Buffer,
    private readonly ends: Uint32Array,
  ) {}

  /** Lines (values) held. */
  get length(): number {
    return this.ends.length;
  }

  /** The text of line `index` (without its `\n`). */
  line(index: number): string {
    const start = index === 0 ? 0 : this.ends[index - 1];
    return this.bytes.toString('utf8', start, this.ends[index] - 1);
  }

  /** `JSON.parse` of line `index`: for the few values a caller needs to look into. */
  value(index: number): unknown {
    return JSON.parse(this.line(index));
  }

  /** The first `count` lines (sharing the bytes). */
  head(count: number): JsonLines {
    if (count >= this.length) return this;
    return new JsonLines(this.bytes.subarray(0, count === 0 ? 0 : this.ends[count - 1]), this.ends.subarray(0, count));
  }

  /** Lines made from texts, each a JSON value on one line (e.g. `JSON.stringify` output). */
  static fromTexts(texts: readonly string[]): JsonLines {
    const ends = new Uint32Array(texts.length);
    let joined = '';
    let offset = 0;
    texts.forEach((text, i) => {
      joined += `${text}\n`;
      offset += Buffer.byteLength(text) + 1;
      ends[i] = offset;
    });
    return new JsonLines(Buffer.from(joined), ends);
  }
}
