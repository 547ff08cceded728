// The emulator for this benchmark, in its own process, with the Reinfer latency model from the
// arguments: node emulator.mjs <latencyMs> <perDocumentMs> <maxConcurrent> <retryAfterMs>.
// Prints {url, env} as one JSON line, then serves until SIGTERM.
import { startEmulator } from '../../dist/emulator/index.js';

const [latencyMs, perDocumentMs, maxConcurrent, retryAfterMs] = process.argv.slice(2).map(Number);
const emulator = await startEmulator({ port: 0, reinfer: { latencyMs, perDocumentMs, maxConcurrent, retryAfterMs } });
process.stdout.write(`${JSON.stringify({ url: emulator.url, env: emulator.env })}\n`);
process.on('SIGTERM', () => emulator.close().then(() => process.exit(0)));
