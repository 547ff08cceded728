/**
 * A predict request body as one Buffer, written item by item.
 *
 * Why not `head + wires.join(',') + tail`: the profile of predictDocuments at the defaults
 * (benchmarks/reinfer-predict, `node --cpu-prof`) showed the join, the flattening of the ~0.8 MB
 * string it makes and undici's own `Buffer.from(body)` of it costing ~5 µs a document; each wire
 * form's UTF-8 size is already known (the batcher bounds batches in bytes), so the body's size
 * is too, and writing each wire form straight into one Buffer costs well under 1 µs a document.
 * The Buffer is kept for the retries of the same request.
 */
import type { Item } from './predict-stream.js';

const COMMA = 0x2c;

/** `head` + the items' wire forms joined by commas + `tail`, as UTF-8 bytes. */
export function requestBody(head: string, items: readonly Item[], tail: string): Buffer {
  let size = Buffer.byteLength(head) + Buffer.byteLength(tail) + Math.max(0, items.length - 1);
  for (let i = 0; i < items.length; i++) size += items[i].bytes;
  const body = Buffer.allocUnsafe(size);
  let at = body.write(head, 0, 'utf8');
  for (let i = 0; i < items.length; i++) {
    if (i > 0) body[at++] = COMMA;
    at += body.write(items[i].wire!, at, 'utf8');
  }
  at += body.write(tail, at, 'utf8');
  // Every byte is written (sizes from Buffer.byteLength of the same strings); a short write would
  // send uninitialized memory, so it is checked rather than assumed.
  if (at !== size) throw new Error(`request body: wrote ${at} of ${size} bytes`);
  return body;
}
