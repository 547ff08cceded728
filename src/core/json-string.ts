/**
 * Skipping a JSON string's body in raw bytes, chunk by chunk: the one piece of JSON lexing that
 * the array scanner (core/json-array.ts) and the import's JSON-array view
 * (safetykit/json-array-view.ts) both need to find element boundaries without parsing.
 * `indexOf` jumps from quote to quote; a quote preceded by an odd run of backslashes is escaped.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** What a scan inside a string carries from one chunk to the next. */
export interface StringScanState {
  /** The previous chunk ended with an odd run of backslashes: this chunk's first byte is escaped. */
  escaped: boolean;
}

/**
 * From `i`, inside a string's body (after its opening quote), the index just past its closing
 * quote; or -1 when `chunk` ends first (`state` then says whether the next chunk starts escaped).
 */
export function skipJsonString(chunk: Buffer, i: number, state: StringScanState): number {
  const length = chunk.length;
  if (state.escaped) {
    state.escaped = false;
    i++;
  }
  while (i < length) {
    const quote = chunk.indexOf(QUOTE, i);
    if (quote < 0) {
      // A backslash run at the chunk's end may escape the first byte of the next chunk.
      state.escaped = backslashesBefore(chunk, length, i) % 2 === 1;
      return -1;
    }
    const run = backslashesBefore(chunk, quote, i);
    i = quote + 1;
    if (run % 2 === 0) return i;
  }
  return -1;
}

/** How many backslashes stand right before `end`, not looking before `from`. */
function backslashesBefore(chunk: Buffer, end: number, from: number): number {
  let run = 0;
  for (let b = end - 1; b >= from && chunk[b] === BACKSLASH; b--) run++;
  return run;
}
