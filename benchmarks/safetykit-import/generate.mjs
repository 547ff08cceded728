// Write a JSONL file of about `megabytes` MB of listing-like objects (id + text fields), once.
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { once } from 'node:events';

export async function generateJsonl(path, megabytes) {
  const target = megabytes * 1_000_000;
  if (existsSync(path) && statSync(path).size >= target) return statSync(path).size;
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const words = ['vintage', 'bike', 'camera', 'leather', 'sofa', 'brand', 'new', 'used', 'cheap', 'genuine', 'rare', 'lamp', 'shoes', 'ticket', 'phone'];
  let bytes = 0;
  for (let i = 0; bytes < target; i++) {
    let description = '';
    for (let w = 0; w < 100; w++) description += `${words[(i * 7 + w * 13) % words.length]} `;
    const line = `${JSON.stringify({ id: `listing-${i}`, title: `Listing ${i}: ${words[i % words.length]} ${words[(i >> 3) % words.length]}`, price: (i % 5000) / 10, seller_id: `seller-${i % 9973}`, description, tags: [words[i % 15], words[(i + 5) % 15]] })}\n`;
    bytes += Buffer.byteLength(line);
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  return bytes;
}
