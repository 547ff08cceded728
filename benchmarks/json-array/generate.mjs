// The same listing-like records written twice: as one JSON array (pretty enough to have line
// breaks between elements, as exported files do) and as JSONL. Streamed to disk, never held.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

function record(i) {
  return {
    id: `listing-${i}`,
    title: `Listing ${i}: vintage bike "Raleigh" \\ frame`,
    price: (i % 5000) / 10,
    seller: { id: `seller-${i % 9973}`, rating: (i % 50) / 10, verified: i % 3 === 0 },
    description: 'Barely used, collect from town centre. Cash only, no returns. Ünïcödé and 中文 too.',
    tags: ['bike', 'vintage', i % 2 ? 'red' : 'blue'],
  };
}

async function write(stream, text) {
  if (!stream.write(text)) await once(stream, 'drain');
}

/** Write `megabytes` of records to `jsonPath` (an array) and `jsonlPath`; returns the record count. */
export async function generate(jsonPath, jsonlPath, megabytes) {
  const json = createWriteStream(jsonPath);
  const jsonl = createWriteStream(jsonlPath);
  const target = megabytes * 1024 * 1024;
  let bytes = 0;
  let count = 0;
  let chunkJson = '[\n';
  let chunkJsonl = '';
  while (bytes < target) {
    const line = JSON.stringify(record(count));
    chunkJson += `${count ? ',\n' : ''}${line}`;
    chunkJsonl += `${line}\n`;
    bytes += line.length + 2;
    count++;
    if (chunkJsonl.length > 1 << 20) {
      await Promise.all([write(json, chunkJson), write(jsonl, chunkJsonl)]);
      chunkJson = '';
      chunkJsonl = '';
    }
  }
  await Promise.all([write(json, `${chunkJson}\n]\n`), write(jsonl, chunkJsonl)]);
  json.end();
  jsonl.end();
  await Promise.all([once(json, 'close'), once(jsonl, 'close')]);
  return count;
}
