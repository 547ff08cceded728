/**
 * A predict request body as one Buffer: `head` + the batch's wire forms (already UTF-8 bytes,
 * joined by commas, see `InputBatch`) + `tail`.
 *
 * Why bytes all along: the profile of predictDocuments at the defaults (benchmarks/reinfer-predict,
 * `node --cpu-prof`) showed a join of the wire strings, the flattening of the ~0.8 MB string it
 * makes and undici's own `Buffer.from(body)` of it costing ~5 µs a document; the batch now holds
 * its wire forms as bytes from the start, so a body is one copy of them. The Buffer is kept for
 * the retries of the same request.
 */

/** `head` + `wireBytes` + `tail`, one Buffer. */
export function requestBody(head: Buffer, wireBytes: Buffer, tail: Buffer): Buffer {
  return Buffer.concat([head, wireBytes, tail], head.length + wireBytes.length + tail.length);
}
