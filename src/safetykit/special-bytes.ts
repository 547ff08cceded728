/**
 * `firstSpecial(from, to)`: where the next byte is that a JSON string may not hold as it is (a
 * control character other than the newline that ends a JSONL line) or that starts an escape (a
 * backslash), in a WebAssembly memory: 16 bytes a step with SIMD. Ordinary JSONL holds neither,
 * so the line check (range-check.ts) can jump over a string to its closing quote with one native
 * `indexOf` instead of looking at each of its bytes, which was most of the check's CPU (its
 * profile: `isIdObjectLine`, byte by byte, ~85 % of the worker's time).
 *
 * The module is small enough to be written here byte by byte (no toolchain, no binary file);
 * {@link firstSpecialReference} is the same function in JavaScript, which the tests compare it with.
 */

/** `firstSpecial` in JavaScript: the reference for the tests, and the fallback where WebAssembly SIMD is missing. */
export function firstSpecialReference(b: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const c = b[i];
    if ((c < 0x20 && c !== 0x0a) || c === 0x5c) return i;
  }
  return to;
}

/** Unsigned LEB128, as WebAssembly writes sizes and counts. */
function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** A section: its id, then its contents' size. */
function section(id: number, contents: number[]): number[] {
  return [id, ...leb(contents.length), ...contents];
}

const SIMD = 0xfd;
const [I32, V128] = [0x7f, 0x7b];
const [BLOCK, LOOP, IF, END, BR, BR_IF, RETURN, VOID] = [0x02, 0x03, 0x04, 0x0b, 0x0c, 0x0d, 0x0f, 0x40];
const [GET, SET, CONST] = [0x20, 0x21, 0x41];
const [ADD, GT_U, GE_U, LT_U, NE, EQ, AND, OR, LOAD8_U] = [0x6a, 0x4b, 0x4f, 0x49, 0x47, 0x46, 0x71, 0x72, 0x2d];
const [V128_LOAD, SPLAT8, EQ8, LT_U8, ANDNOT, VOR, ANY_TRUE] = [0x00, 0x0f, 0x23, 0x26, 0x4f, 0x50, 0x53].map((op) => [SIMD, op]);
// Locals: 0 = p (from), 1 = e (to), 2 = the 16 bytes at p, 3 = the byte at p.
const [P, E, V, C] = [0, 1, 2, 3];
/** `i32.const` of a byte value (signed LEB128: values from 64 up take two bytes). */
const byte = (value: number) => [CONST, ...(value < 64 ? [value] : [(value & 0x7f) | 0x80, value >> 7])];

/** The function's code. */
const BODY = [
  // 16 bytes a step while 16 are left: stop at the first step that holds a special byte.
  BLOCK, VOID, LOOP, VOID,
  GET, P, CONST, 16, ADD, GET, E, GT_U, BR_IF, 1,
  GET, P, ...V128_LOAD, 0, 0, SET, V,
  GET, V, ...byte(0x20), ...SPLAT8, ...LT_U8, // c < 0x20
  GET, V, ...byte(0x0a), ...SPLAT8, ...EQ8, // c == '\n'
  ...ANDNOT,
  GET, V, ...byte(0x5c), ...SPLAT8, ...EQ8, // c == '\\'
  ...VOR, ...ANY_TRUE, BR_IF, 1,
  GET, P, CONST, 16, ADD, SET, P,
  BR, 0, END, END,
  // Then byte by byte: the last few bytes, or the step that holds one.
  BLOCK, VOID, LOOP, VOID,
  GET, P, GET, E, GE_U, BR_IF, 1,
  GET, P, LOAD8_U, 0, 0, SET, C,
  GET, C, ...byte(0x20), LT_U, GET, C, ...byte(0x0a), NE, AND,
  GET, C, ...byte(0x5c), EQ, OR,
  IF, VOID, GET, P, RETURN, END,
  GET, P, CONST, 1, ADD, SET, P,
  BR, 0, END, END,
  GET, E,
  END,
];

/** The module: `f(from, to)` over its exported memory `m` (one 64 KiB page; grow it as needed). */
export const FIRST_SPECIAL_WASM: Uint8Array = Uint8Array.from([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, [1, 0x60, 2, I32, I32, 1, I32]),
  ...section(3, [1, 0]),
  ...section(5, [1, 0x00, 1]),
  ...section(7, [2, 1, 0x66, 0x00, 0, 1, 0x6d, 0x02, 0]),
  ...section(10, [1, ...leb(5 + BODY.length), 2, 1, V128, 1, I32, ...BODY]),
]);

/** The module's exports. */
export interface FirstSpecialExports {
  f: (from: number, to: number) => number;
  m: { buffer: ArrayBuffer; grow(pages: number): number };
}

/** The part of the WebAssembly API used here (this project's TypeScript libs do not declare it). */
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: FirstSpecialExports };
}

/** Whether this runtime runs the module (WebAssembly with SIMD: Node 16.4 and later). */
export function wasmSimd(): boolean {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return wasm !== undefined && wasm.validate(FIRST_SPECIAL_WASM);
}
