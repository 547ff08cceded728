// The byte-level fast path of the import's line check: it may only say "good" for a line the full
// check (JSON.parse + a non-empty string id) accepts, and must say it for ordinary lines.
import { describe, expect, it } from 'vitest';
import { isIdObjectLine } from '../src/safetykit/id-object-bytes.js';
import { objectProblem } from '../src/safetykit/errors.js';

/** What the full check decides for one line's text. */
function fullCheck(text: string): boolean {
  try {
    return objectProblem(JSON.parse(text)) === undefined;
  } catch {
    return false;
  }
}

const fast = (text: string) => {
  const bytes = Buffer.from(`xx${text}yy`);
  return isIdObjectLine(bytes, 2, bytes.length - 2);
};

const good = [
  '{"id":"a"}',
  ' \t{"id" : "a" }\r',
  '{"x":1,"id":"a"}',
  '{"id":"a","nested":{"id":5,"list":[1,-2.5e+3,0,0.1,true,false,null,"s",{},[]]}}',
  '{"id":"\\u00e9\\n\\"\\\\\\/\\b\\f\\r\\t"}',
  '{"id":"é ✓ 😀","t":"\\ud83d\\ude00"}',
  '{"id":"a","e":[],"o":{}, "n": -0, "m": 1E5, "k": 1e-5}',
];
const bad = [
  '{"id":""}',
  '{"id":5}',
  '{"id":"a","id":5}',
  '{"id":"a","id":""}',
  '{"id":null}',
  '{"id":["a"]}',
  '{"x":"a"}',
  '{"nested":{"id":"a"}}',
  '{"id":"a",}',
  '{"id":"a"',
  '{"id":"a"}}',
  '{"id":"a"} x',
  '{"id":"a"}{"id":"b"}',
  '{"id":"a\tb"}',
  '{"id":"a","n":01}',
  '{"id":"a","n":1.}',
  '{"id":"a","n":.5}',
  '{"id":"a","n":+1}',
  '{"id":"a","n":1e}',
  '{"id":"a","n":-}',
  '{"id":"a","v":tru}',
  '{"id":"a","v":nul}',
  '{"id":"a","v":[1,]}',
  '{"id":"a","v":[,1]}',
  '{"id":"a","v":{"k"}}',
  '{"id":"a","v":{"k":}}',
  '{"id":"a","v":{1:2}}',
  '{"id":"a\\x"}',
  '{"id":"a\\u12g4"}',
  "{'id':'a'}",
  '{"id":"a"]',
  '["id","a"]',
  '"id"',
  '',
  '   ',
  '{"\\u0069d":"a"}',
  '{"id":"a","\\u0069d":5}',
  '{"id":"a","x":\u00a0 1}',
  `{"id":"a","deep":${'['.repeat(40)}${']'.repeat(40)}}`,
];

describe('isIdObjectLine', () => {
  it('proves ordinary object lines', () => {
    for (const line of good) {
      expect(fullCheck(line), line).toBe(true);
      expect(fast(line), line).toBe(true);
    }
  });

  it('never proves a line that the full check refuses (those, and unsure ones, go to the full check)', () => {
    for (const line of bad) expect(fast(line) && !fullCheck(line), line).toBe(false);
    for (const line of bad.slice(0, -4)) expect(fast(line), line).toBe(false);
  });

  it('agrees with the full check on thousands of mutated lines whenever it says "good"', () => {
    const alphabet = ['{', '}', '[', ']', '"', ':', ',', '\\', 'u', '0', '1', '-', '.', 'e', 'E', '+', ' ', '\t', 't', 'n', 'f', 'a', 'id', '\u0001', 'é'];
    const seeds = good.concat(['{"id":"x","a":[1,{"b":"c"}],"d":{"e":[true,null]}}']);
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let proved = 0;
    for (let round = 0; round < 20_000; round++) {
      let text = seeds[random(seeds.length)];
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(text.length + 1);
        const kind = random(3);
        const piece = alphabet[random(alphabet.length)];
        text = kind === 0 ? text.slice(0, at) + piece + text.slice(at) : kind === 1 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + piece + text.slice(at + 1);
      }
      if (fast(text)) {
        proved++;
        expect(fullCheck(text), text).toBe(true);
      }
    }
    expect(proved).toBeGreaterThan(100);
  });
});
