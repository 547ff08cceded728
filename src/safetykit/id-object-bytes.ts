/**
 * A byte-level fast path of the import's line check: proves, without building any value, that a
 * line is one JSON object whose top-level `id` is a non-empty string. `JSON.parse` of each line
 * (plus its UTF-8 decode) was the import's main CPU cost in the profile (two thirds of the client
 * CPU of `importFile` beyond the raw PUT's); this scan does the same proof at several times its speed.
 *
 * It is a strict JSON grammar check (RFC 8259): it answers `true` only for text that `JSON.parse`
 * accepts as such an object. Anything it is not sure of (a key with escapes at the top level, which
 * could spell `id`; nesting deeper than 31; any grammar error) answers `false`, and the caller then
 * runs the full check, which names the problem. The bytes must already be known to be valid UTF-8
 * (checked natively with `isUtf8`): the scan passes bytes ≥ 0x80 inside strings as they are.
 *
 * `clean`: the caller knows that `b[start, clean)` holds no backslash and no control character
 * (special-bytes.ts finds the first one 16 bytes a step). A string that closes before it is
 * skipped with one native `indexOf` of its closing quote (memchr), not byte by byte.
 *
 * Self-contained (no reference outside its body): the line-check worker evaluates its source.
 */
export function isIdObjectLine(b: Buffer, start: number, end: number, clean = start): boolean {
  // States: 0 = a value is expected, 1 = a value has ended, 2 = an object key is expected.
  let state = 0;
  let depth = 0;
  /** Bit d set: the container at depth d is an array. */
  let arrays = 0;
  let idOk = false;
  /** The next value is the top-level "id"'s. */
  let idValue = false;
  let i = start;
  if (b[i] !== 0x7b) {
    // Leading JSON whitespace before the object.
    while (i < end && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0d)) i++;
    if (b[i] !== 0x7b) return false;
  }
  for (;;) {
    let c = b[i];
    while (c === 0x20 || c === 0x09 || c === 0x0d) c = b[++i];
    if (i >= end) return false;
    if (state === 0) {
      if (c === 0x22) {
        const open = i;
        if (i < clean) {
          const close = b.indexOf(0x22, i + 1);
          if (close >= 0 && close < clean && close < end) {
            i = close + 1;
            if (idValue) idOk = i - open > 2;
            state = 1;
            continue;
          }
        }
        for (c = b[++i]; ; c = b[++i]) {
          if (i >= end) return false;
          if (c === 0x22) break;
          if (c === 0x5c) {
            c = b[++i];
            if (c === 0x75) {
              for (let k = 0; k < 4; k++) {
                c = b[++i];
                if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))) return false;
              }
            } else if (!(c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74)) {
              return false;
            }
          } else if (c < 0x20) {
            return false;
          }
        }
        i++;
        if (idValue) idOk = i - open > 2;
        state = 1;
      } else if (c === 0x7b || c === 0x5b) {
        if (++depth > 31) return false;
        if (idValue) idOk = false;
        i++;
        if (c === 0x5b) {
          arrays |= 1 << depth;
          state = 0;
        } else {
          arrays &= ~(1 << depth);
          state = 2;
        }
        // An empty container.
        c = b[i];
        while (c === 0x20 || c === 0x09 || c === 0x0d) c = b[++i];
        if (c === (state === 0 ? 0x5d : 0x7d)) {
          i++;
          depth--;
          state = 1;
        }
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        if (c === 0x2d) c = b[++i];
        if (c === 0x30) c = b[++i];
        else if (c >= 0x31 && c <= 0x39) while (c >= 0x30 && c <= 0x39) c = b[++i];
        else return false;
        if (c === 0x2e) {
          c = b[++i];
          if (!(c >= 0x30 && c <= 0x39)) return false;
          while (c >= 0x30 && c <= 0x39) c = b[++i];
        }
        if (c === 0x65 || c === 0x45) {
          c = b[++i];
          if (c === 0x2b || c === 0x2d) c = b[++i];
          if (!(c >= 0x30 && c <= 0x39)) return false;
          while (c >= 0x30 && c <= 0x39) c = b[++i];
        }
        if (i > end) return false;
        if (idValue) idOk = false;
        state = 1;
      } else if (c === 0x74 && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65) {
        i += 4;
        if (idValue) idOk = false;
        state = 1;
      } else if (c === 0x66 && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65) {
        i += 5;
        if (idValue) idOk = false;
        state = 1;
      } else if (c === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c) {
        i += 4;
        if (idValue) idOk = false;
        state = 1;
      } else {
        return false;
      }
      if (i > end) return false;
      idValue = false;
      if (state === 1 && depth === 0) {
        // The top-level object has closed: only whitespace may follow.
        c = b[i];
        while (i < end && (c === 0x20 || c === 0x09 || c === 0x0d)) c = b[++i];
        return i === end && idOk;
      }
    } else if (state === 1) {
      const inArray = (arrays & (1 << depth)) !== 0;
      if (c === 0x2c) {
        i++;
        state = inArray ? 0 : 2;
      } else if (c === (inArray ? 0x5d : 0x7d)) {
        i++;
        if (--depth === 0) {
          c = b[i];
          while (i < end && (c === 0x20 || c === 0x09 || c === 0x0d)) c = b[++i];
          return i === end && idOk;
        }
      } else {
        return false;
      }
    } else {
      // An object key, then ':'.
      if (c !== 0x22) return false;
      const open = i;
      for (c = b[++i]; ; c = b[++i]) {
        if (i >= end) return false;
        if (c === 0x22) break;
        // Escapes in a key: undecided at the top level (they could spell "id"); rare anywhere.
        if (c === 0x5c || c < 0x20) return false;
      }
      i++;
      if (depth === 1) idValue = i - open === 4 && b[open + 1] === 0x69 && b[open + 2] === 0x64;
      c = b[i];
      while (c === 0x20 || c === 0x09 || c === 0x0d) c = b[++i];
      if (c !== 0x3a || i >= end) return false;
      i++;
      state = 0;
    }
  }
}
