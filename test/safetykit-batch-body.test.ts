// The add request body built in one Buffer: valid JSON holding each text as written, byte counts
// as the batch limit counts them, and an object taken out again (it starts the next batch).
import { describe, expect, it } from 'vitest';
import { BatchBody } from '../src/safetykit/batch-body.js';

describe('BatchBody', () => {
  it('holds each text unchanged, counts UTF-8 bytes + 1 per object, and grows past its first capacity', () => {
    const body = new BatchBody(16);
    const texts = ['{"id":"a","n":12345678901234567890}', '{"id":"é✓😀"}', `{"id":"long","t":"${'x'.repeat(200_000)}"}`];
    let bytes = 0;
    for (const text of texts) {
      const size = body.append(text);
      expect(size).toBe(Buffer.byteLength(text) + 1);
      bytes += size;
    }
    expect(body.bytes).toBe(bytes);
    expect(body.count).toBe(3);
    const out = body.finish().toString('utf8');
    expect(out).toBe(`{"data":[${texts.join(',')}]}`);
  });

  it('takes the last object out again, its bytes intact, for the next body', () => {
    const first = new BatchBody();
    first.append('{"id":"1"}');
    first.append('{"id":"2é"}');
    const moved = first.removeLast();
    expect(moved.toString('utf8')).toBe('{"id":"2é"}');
    expect(first.count).toBe(1);
    expect(first.bytes).toBe(11);
    expect(first.finish().toString()).toBe('{"data":[{"id":"1"}]}');
    const next = new BatchBody();
    expect(next.appendBytes(moved)).toBe(Buffer.byteLength('{"id":"2é"}') + 1);
    next.append('{"id":"3"}');
    expect(JSON.parse(next.finish().toString('utf8'))).toEqual({ data: [{ id: '2é' }, { id: '3' }] });
    const only = new BatchBody();
    only.append('{"id":"x"}');
    expect(only.removeLast().toString()).toBe('{"id":"x"}');
    expect(only.finish().toString()).toBe('{"data":[]}');
  });
});
