// One measured run, in its own process: read FILE with a parser into a sink, report MB/s and peak RSS.
//   node case.mjs PARSER FILE [BASE_URL API_KEY]
//   PARSER: json-array | jsonl | stream-json; with BASE_URL the sink is dataWriter (SafetyKit add), else a counter.
import { createReadStream, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { closeAgents, dataWriter, parseJsonArray, parseJsonl } from '../../dist/index.js';
import { ROOT, report } from '../lib.mjs';

const [parserName, file, baseUrl, apiKey] = process.argv.slice(2);

function parser() {
  if (parserName === 'json-array') return [parseJsonArray()];
  if (parserName === 'jsonl') return [parseJsonl()];
  // stream-json's fastest configuration for whole elements: values packed, not streamed in pieces.
  const require = createRequire(`${ROOT}/package.json`);
  const { parser: tokenizer } = require('stream-json');
  const { streamArray } = require('stream-json/streamers/StreamArray');
  const toValue = new (require('node:stream').Transform)({ objectMode: true, transform: (entry, _e, cb) => cb(null, entry.value) });
  return [tokenizer({ packValues: true, streamValues: false }), streamArray(), toValue];
}

let items = 0;
const sink = baseUrl
  ? dataWriter({ baseUrl, apiKey, namespace: 'bench', concurrency: 4 })
  : new Writable({ objectMode: true, highWaterMark: 64, write: (_item, _e, cb) => (items++, cb()) });
const started = performance.now();
// 64 KiB reads (Node's default, as the CLI uses): 1 MiB reads add ~60 MB of peak RSS at the same speed.
await pipeline(createReadStream(file, { highWaterMark: 64 * 1024 }), ...parser(), sink);
const seconds = (performance.now() - started) / 1000;
if (baseUrl) {
  items = sink.summary.objects;
  await closeAgents();
}
const megabytes = statSync(file).size / 1e6;
report({ seconds, items, megabytes, mbPerSecond: megabytes / seconds, recordsPerSecond: items / seconds });
