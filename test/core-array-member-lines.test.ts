/**
 * arrayMemberLines (issue 18): the elements of a body's array as JSONL lines, read on the bytes.
 * What it takes must be exactly what JSON.parse reads (checked on thousands of mutated bodies);
 * what it declines goes to JSON.parse, so declining is always safe, accepting never may be wrong.
 */
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { arrayMemberLines } from '../src/core/array-member-lines.js';
import { MAX_JSON_DEPTH } from '../src/core/json-bytes.js';

const RECORDS = [
  { requestId: 'a', n: -1.5e-3, big: 0, t: true, f: false, z: null, list: [1, [2, [3]], {}], empty: {}, none: [] },
  { requestId: 'b', text: 'quotes " and \\ backslashes \\\\" and \\" }]', unicode: 'é中😀', escapes: '\u0001\n\t\u2028' },
  { requestId: 'c', 'key with "quotes"': '[{,:}]', nested: { deeper: { list: [{ x: '}' }] } } },
];

/** Read `text` (a copy: the reader takes its buffer). */
function read(text: string | Buffer, key = 'results') {
  return arrayMemberLines(Buffer.from(text), key);
}

/** The lines as parsed values, and checks that each is one line of valid JSON. */
function lineValues(text: string | Buffer): unknown[] | undefined {
  const found = read(text);
  if (!found) return undefined;
  const all = found.lines.bytes.toString('utf8');
  expect(all.endsWith('\n') || all === '').toBe(true);
  const lines = all === '' ? [] : all.slice(0, -1).split('\n');
  expect(lines).toHaveLength(found.lines.length);
  return lines.map((line, i) => {
    expect(found.lines.line(i)).toBe(line);
    return JSON.parse(line);
  });
}

describe('arrayMemberLines', () => {
  it('a compact page: the lines are the elements as sent, and the other members are there', () => {
    const body = JSON.stringify({ batchSize: 3, results: RECORDS, checkpoint: 'Y3A=' });
    const found = read(body)!;
    expect(found.lines.bytes.toString()).toBe(RECORDS.map((r) => `${JSON.stringify(r)}\n`).join(''));
    expect(found.member('checkpoint')).toBe('"Y3A="');
    expect(found.member('batchSize')).toBe('3');
    expect(found.member('other')).toBeUndefined();
    expect(found.lines.value(1)).toEqual(RECORDS[1]);
    expect(found.lines.head(2).bytes.toString()).toBe(RECORDS.slice(0, 2).map((r) => `${JSON.stringify(r)}\n`).join(''));
    expect(found.lines.head(0).length).toBe(0);
  });

  it('a pretty-printed page (LF, CRLF, tabs): each element compacted to one line, values kept', () => {
    for (const indent of [2, '\t', '\r\n  ']) {
      const body = JSON.stringify({ checkpoint: 'Y3A=', results: RECORDS, batchSize: 3 }, null, indent as string);
      expect(lineValues(body)).toEqual(RECORDS);
      // Compacted like JSON.stringify writes them: a string's own spaces and escapes stay.
      expect(read(body)!.lines.bytes.toString()).toBe(RECORDS.map((r) => `${JSON.stringify(r)}\n`).join(''));
    }
  });

  it('keeps every digit and escape as sent (JSON.parse + JSON.stringify would not)', () => {
    const element = '{"big":12345678901234567890,"huge":1e400,"negzero":-0,"one":1.0,"exp":1E+2,"a":"\\u0041\\/","dup":1,"dup":2}';
    const found = read(`{"results":[${element}, ${element}],"checkpoint":"x"}`)!;
    expect(found.lines.bytes.toString()).toBe(`${element}\n${element}\n`);
  });

  it('an empty array, keys with escapes, the key twice elsewhere in the document', () => {
    expect(read('{"results":[],"checkpoint":null}')!.lines.length).toBe(0);
    expect(read(' {"res\\u0075lts" : [ {"a":1} ] } ')!.lines.bytes.toString()).toBe('{"a":1}\n');
    // A nested "results" is not the member.
    expect(read('{"x":{"results":[1]},"results":[{"a":1}]}')!.lines.length).toBe(1);
  });

  it('declines what it does not take whole: the caller then reads the body with JSON.parse', () => {
    const declined = [
      '',
      '[]',
      '{}',
      '{"results":{}}',
      '{"results":[{"a":1}],"results":[{"a":2}]}',
      '{"results":[null]}',
      '{"results":[{"a":1},7]}',
      '{"results":[[{"a":1}]]}',
      '{"results":["x"]}',
      '{"results":[true]}',
      '{"results":[{"a":1}]} x',
      '{"results":[{"a":1}],}',
      '{"results":[{"a":1},]}',
      '{"results":[{"a":"line\nbreak"}]}',
      '{"results":[{"a":"tab\there"}]}',
      '{"results":[{"a":"\\x"}]}',
      '{"results":[{"a":"\\u12"}]}',
      '{"results":[{"a":01}]}',
      '{"results":[{"a":+1}]}',
      '{"results":[{"a":1.}]}',
      '{"results":[{"a":.5}]}',
      '{"results":[{"a":1e}]}',
      '{"results":[{"a":NaN}]}',
      '{"results":[{"a":tru}]}',
      "{'results':[]}",
      '{"results":[{a:1}]}',
      '{"results":[{"a":1}',
      '\uFEFF{"results":[]}',
    ];
    for (const body of declined) {
      expect(read(body), JSON.stringify(body)).toBeUndefined();
    }
  });

  it(`nesting: ${MAX_JSON_DEPTH} levels are read, one more is declined (JSON.parse then reads it)`, () => {
    const nest = (depth: number) => `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    expect(read(`{"results":[${nest(MAX_JSON_DEPTH)}]}`)!.lines.length).toBe(1);
    expect(read(`{"results":[${nest(MAX_JSON_DEPTH + 1)}]}`)).toBeUndefined();
  });

  it('never takes a body JSON.parse refuses, and reads what it takes as JSON.parse does (mutated bodies)', () => {
    const seeds = [
      JSON.stringify({ batchSize: 3, results: RECORDS, checkpoint: 'Y3A=' }),
      JSON.stringify({ checkpoint: 'Y3A=', results: RECORDS }, null, 1),
      '{"results":[{"a":-0.5e-7,"b":[true,false,null],"c":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"}],"x":{"y":[1,2.5,-3E2]}}',
    ];
    // Bytes that matter to JSON's grammar, to insert or substitute.
    const interesting = Buffer.from('{}[]":,\\/ \n\r\t0123456789-+.eEtrufalsn\u0001ux');
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let taken = 0;
    for (let round = 0; round < 6000; round++) {
      const base = Buffer.from(seeds[round % seeds.length]);
      const at = random(base.length);
      const byte = interesting[random(interesting.length)];
      const kind = random(3);
      const mutated = kind === 0 ? Buffer.concat([base.subarray(0, at), Buffer.of(byte), base.subarray(at)]) : kind === 1 ? Buffer.concat([base.subarray(0, at), base.subarray(at + 1)]) : Buffer.from(base).fill(byte, at, at + 1);
      // The caller checks the encoding first (a cut multi-byte character is not this reader's to see).
      if (!isUtf8(mutated)) continue;
      let parsed: { results?: unknown } | undefined;
      try {
        parsed = JSON.parse(mutated.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      const values = lineValues(mutated);
      if (values === undefined) continue;
      taken++;
      expect(parsed, mutated.toString()).toBeDefined();
      expect(values, mutated.toString()).toEqual(parsed!.results);
    }
    // Most single mutations of a string's content keep the body valid: the comparison was made.
    expect(taken).toBeGreaterThan(1000);
  });
});
