/**
 * The body of one add request, built as its objects arrive: `{"data":[` + each object's JSON text
 * (comma-separated) + `]}`, written straight into one Buffer. The profile of `dataWriter` at 0 ms
 * latency showed a third of its CPU in `Buffer.byteLength` of each text, `lines.join(',')`, the
 * byte count of the joined body and undici's encoding of that string; writing each text once into
 * the body's bytes does all of that in one pass, and a batch in flight holds one Buffer (outside
 * the V8 heap) instead of a thousand strings and their join.
 */
const PREFIX = '{"data":[';
const SUFFIX = ']}';
/** First capacity of a body with no size hint. */
const MIN_CAPACITY = 64 * 1024;
/** A body's bytes once released: a BatchBody is not used after {@link BatchBody.release}. */
const RELEASED = Buffer.alloc(0);

/**
 * The Buffers of bodies whose requests are done, handed to the next bodies. A heap profile of
 * `dataWriter` showed its peak RSS above the naive loop's in external memory: a fresh ~300 kB
 * Buffer per batch lives through its request (long enough to be promoted to V8's old space), so
 * the dead ones piled up to 25–37 MB of `arrayBuffers` between mark-compacts, and malloc kept the
 * pages. Reusing them keeps the writer's bodies at about `concurrency + 1` Buffers.
 */
export class BodyPool {
  private readonly free: Buffer[] = [];

  /** Keeps at most `keep` free Buffers; more are left to the garbage collector. */
  constructor(private readonly keep: number) {}

  /** A Buffer of at least `capacity` bytes (its contents are garbage). */
  take(capacity: number): Buffer {
    const buffer = this.free.pop();
    if (buffer !== undefined && buffer.length >= capacity) return buffer;
    // An eighth more, so that bodies a little larger than the last one still fit a reused Buffer.
    return Buffer.allocUnsafe(capacity + (capacity >>> 3));
  }

  /** `buffer` is no longer read by anyone: the next body may overwrite it. */
  give(buffer: Buffer): void {
    if (buffer.length > 0 && this.free.length < this.keep) this.free.push(buffer);
  }
}

export class BatchBody {
  /** Objects in the body. */
  count = 0;
  /** Their sizes as the byte limit counts them: each text's UTF-8 bytes + 1 (its separator). */
  bytes = 0;
  private buffer: Buffer;
  private length: number;
  /** Where the last object's text (its comma included) starts, and its size, for {@link removeLast}. */
  private lastStart = 0;
  private lastSize = 0;

  /** `pool` lends the first Buffer and takes back the ones this body is done with. */
  constructor(
    capacityHint = MIN_CAPACITY,
    private readonly pool?: BodyPool,
  ) {
    const capacity = Math.max(MIN_CAPACITY, capacityHint);
    this.buffer = pool ? pool.take(capacity) : Buffer.allocUnsafe(capacity);
    this.length = this.buffer.write(PREFIX, 0, 'latin1');
  }

  /** Append one object's JSON text; returns its size (UTF-8 bytes + 1). */
  append(text: string): number {
    // Room for the worst case (3 bytes per UTF-16 unit), the comma and the suffix.
    this.reserve(text.length * 3 + 1 + SUFFIX.length);
    this.lastStart = this.length;
    if (this.count > 0) this.buffer[this.length++] = 0x2c;
    const written = this.buffer.write(text, this.length, 'utf8');
    this.length += written;
    this.count++;
    this.lastSize = written + 1;
    this.bytes += this.lastSize;
    return this.lastSize;
  }

  /** Take the last appended object out again; returns its text's bytes (without a comma). */
  removeLast(): Buffer {
    const commaLength = this.count > 1 ? 1 : 0;
    const text = Buffer.from(this.buffer.subarray(this.lastStart + commaLength, this.length));
    this.length = this.lastStart;
    this.count--;
    this.bytes -= this.lastSize;
    this.lastSize = 0;
    return text;
  }

  /** Append an object's text already in bytes (one taken out of another body by {@link removeLast}). */
  appendBytes(text: Buffer): number {
    this.reserve(text.length + 1 + SUFFIX.length);
    this.lastStart = this.length;
    if (this.count > 0) this.buffer[this.length++] = 0x2c;
    this.length += text.copy(this.buffer, this.length);
    this.count++;
    this.lastSize = text.length + 1;
    this.bytes += this.lastSize;
    return this.lastSize;
  }

  /**
   * The whole request body (a view of this body's Buffer). Nothing is appended after this; the
   * view stays valid until {@link release}.
   */
  finish(): Buffer {
    this.reserve(SUFFIX.length);
    this.length += this.buffer.write(SUFFIX, this.length, 'latin1');
    return this.buffer.subarray(0, this.length);
  }

  /**
   * The request is done (accepted, so never sent again): the Buffer goes back to the pool for the
   * next body, and the view {@link finish} returned must not be read any more.
   */
  release(): void {
    const buffer = this.buffer;
    this.buffer = RELEASED;
    this.length = 0;
    this.pool?.give(buffer);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + extra) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
