/**
 * A batch of predict inputs as the stream keeps it until its answer: the inputs themselves (each
 * output gives its input back) and the wire forms of the sendable ones as UTF-8 bytes, joined by
 * commas in one Buffer, with the end offset of each. No object per input, and no string.
 *
 * Why: the profile of predictDocuments at the defaults (`node --cpu-prof`, `--trace-gc`) had
 * garbage collection as its largest entry (~30 % of its CPU), almost all of it scavenges copying
 * what survives them: each batch's inputs are kept for ~150 ms until their answer, and so were an
 * item object and the serialized wire string of every input (~450 B of JS heap each). The
 * bytes now live outside the JS heap, where a scavenge neither scans nor copies them, and a
 * refused batch's halves (bisection) are read back from them as sub-ranges.
 */

const COMMA = 0x2c;

/**
 * Buffer's own per-encoding writers (`latin1Write`, `utf8Write`: on every Buffer since Node 0.x,
 * untyped), which skip `write()`'s argument normalization; `write()` when they are missing.
 */
interface EncodingWriters {
  latin1Write?(text: string, offset: number): number;
  utf8Write?(text: string, offset: number): number;
}
const writers = Buffer.prototype as unknown as EncodingWriters;
const writeLatin1: (buffer: Buffer, text: string, offset: number) => number =
  typeof writers.latin1Write === 'function' ? (buffer, text, offset) => (buffer as unknown as Required<EncodingWriters>).latin1Write(text, offset) : (buffer, text, offset) => buffer.write(text, offset, 'latin1');
const writeUtf8: (buffer: Buffer, text: string, offset: number) => number =
  typeof writers.utf8Write === 'function' ? (buffer, text, offset) => (buffer as unknown as Required<EncodingWriters>).utf8Write(text, offset) : (buffer, text, offset) => buffer.write(text, offset, 'utf8');
/** First capacity of a batch's bytes; later batches start at the size the last one reached. */
const MIN_CAPACITY = 64 * 1024;

export class InputBatch {
  /** Every input written, sendable or not, in order: position `p` is stream index `firstIndex + p`. */
  readonly inputs: unknown[] = [];
  /** The sendable inputs in order (the same array as `inputs` while no input is unsendable). */
  private sendable: unknown[] = this.inputs;
  /** Why an input cannot be sent, by its position in `inputs` (undefined while none). */
  problems: Map<number, string> | undefined;
  /** End offset in the bytes of each sendable input's wire form (the next starts one comma later). */
  private readonly ends: number[] = [];
  private bytes: Buffer;
  private used = 0;

  constructor(
    /** Stream index of the first input. */
    readonly firstIndex: number,
    capacity: number,
  ) {
    this.bytes = Buffer.allocUnsafe(Math.max(MIN_CAPACITY, capacity));
  }

  /** Inputs in the batch. */
  get length(): number {
    return this.inputs.length;
  }

  /** Inputs that go on the wire. */
  get sendableCount(): number {
    return this.ends.length;
  }

  /** Bytes the batch counts against `maxBatchBytes`: each wire form plus its comma. */
  get size(): number {
    return this.used + (this.ends.length > 0 ? 1 : 0);
  }

  /** Bytes written so far (the capacity the next batch starts with). */
  get written(): number {
    return this.used;
  }

  /** Add a sendable input and its wire form, `byteLength` its UTF-8 size. */
  add(input: unknown, wire: string, byteLength: number): void {
    const at = this.ends.length === 0 ? 0 : this.used + 1;
    const end = at + byteLength;
    if (end > this.bytes.length) this.grow(end);
    if (at > 0) this.bytes[at - 1] = COMMA;
    // All ASCII (as many wire forms are: JSON.stringify escapes nothing else, but kept text may
    // hold any character) when its UTF-8 size is its length: then its Latin-1 bytes are its UTF-8
    // bytes, copied without encoding. Buffer#write's argument handling cost more than the copy.
    const written = byteLength === wire.length ? writeLatin1(this.bytes, wire, at) : writeUtf8(this.bytes, wire, at);
    // A short write would send the previous batch's bytes: checked, not assumed.
    if (written !== byteLength) throw new Error(`predict batch: wrote ${written} of ${byteLength} bytes`);
    this.used = end;
    this.ends.push(end);
    this.inputs.push(input);
    if (this.sendable !== this.inputs) this.sendable.push(input);
  }

  /** Add an input that cannot be sent (it comes out as a failure, in its place). */
  addUnsendable(input: unknown, problem: string): void {
    if (this.sendable === this.inputs) this.sendable = this.inputs.slice();
    (this.problems ??= new Map()).set(this.inputs.length, problem);
    this.inputs.push(input);
  }

  /** The wire forms of sendable inputs `from` to `to` (exclusive) joined by commas: a view, no copy. */
  wireBytes(from: number, to: number): Buffer {
    if (to <= from) return this.bytes.subarray(0, 0);
    const start = from === 0 ? 0 : this.ends[from - 1] + 1;
    return this.bytes.subarray(start, this.ends[to - 1]);
  }

  /** Sendable inputs `from` to `to` (exclusive), in order. */
  sendableInputs(from: number, to: number): unknown[] {
    return from === 0 && to === this.sendable.length ? this.sendable : this.sendable.slice(from, to);
  }

  private grow(needed: number): void {
    const grown = Buffer.allocUnsafe(Math.max(needed, this.bytes.length * 2));
    this.bytes.copy(grown, 0, 0, this.used);
    this.bytes = grown;
  }
}
