/**
 * Deliver a parser's error after the items it emitted before it.
 *
 * A Transform that fails with `callback(error)` is destroyed at once, and destroying a stream
 * drops what its readable side still buffers: items parsed *before* the bad one in the same chunk
 * never reach the consumer. A caller who stops at the bad item (the CLI's ingest adds everything
 * before it and says so) would then silently miss up to a chunk's worth of good items.
 *
 * `orderErrors(stream)` holds such an error (and holds the upstream too, by not acknowledging the
 * chunk) until the consumer has read every item already emitted, then destroys the stream with it.
 */
import type { Transform, TransformCallback } from 'node:stream';

/** Make `stream` (a Transform) fail only once the items it emitted before its error are read. Returns `stream`. */
export function orderErrors<T extends Transform>(stream: T): T {
  const transform = stream._transform.bind(stream);
  const flush = stream._flush?.bind(stream);
  const read = stream.read.bind(stream);
  let failure: Error | undefined;

  const failWhenDrained = (): void => {
    if (failure && stream.readableLength === 0 && !stream.destroyed) stream.destroy(failure);
  };
  const hold = (callback: TransformCallback): TransformCallback => (error, data) => {
    if (!error) return callback(null, data);
    failure = error;
    // Never acknowledged: the upstream stops here instead of being read to its end.
    process.nextTick(failWhenDrained);
  };

  stream._transform = (chunk: unknown, encoding: BufferEncoding, callback: TransformCallback) => {
    if (failure) return;
    try {
      transform(chunk, encoding, hold(callback));
    } catch (error) {
      hold(callback)(error as Error);
    }
  };
  if (flush) {
    stream._flush = (callback: TransformCallback) => {
      if (failure) return;
      flush(hold(callback));
    };
  }
  // Every consumer (for await, pipe, read()) takes items through read(): check after each.
  stream.read = (size?: number) => {
    const item: unknown = read(size);
    if (failure) process.nextTick(failWhenDrained);
    return item;
  };
  return stream;
}
