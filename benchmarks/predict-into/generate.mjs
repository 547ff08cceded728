// Writes `n` documents as JSONL (the reinfer-predict benchmark's documents, each with its `id`):
//   node generate.mjs <file> <n>
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { documentAt } from '../reinfer-predict/documents.mjs';

const [file, nArg] = process.argv.slice(2);
const n = Number(nArg);
const out = createWriteStream(file);
let chunk = '';
for (let i = 0; i < n; i++) {
  chunk += `${JSON.stringify(documentAt(i))}\n`;
  if (chunk.length > 1 << 20 || i === n - 1) {
    if (!out.write(chunk)) await once(out, 'drain');
    chunk = '';
  }
}
out.end();
await once(out, 'finish');
