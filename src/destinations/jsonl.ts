/**
 * The JSONL destination: one `JSON.stringify(record)` per line (a `JsonText` field, e.g. a
 * prediction's `input`, written as the text it was read from: see `jsonLine`), appended page by page with the
 * state after it (see `./appending-file.ts`). The export's default. An export hands it each page
 * as JSON lines copied from the response body (`writeLines`), written as they are.
 */
import type { JsonLines } from '../core/json-lines.js';
import { AppendingFileDestination, type AppendingFileOptions, type Encoder } from './appending-file.js';
import type { Destination, PartitionPosition } from './destination.js';
import { jsonLine } from '../core/jsonl.js';

/** Records as JSONL bytes, one `JSON.stringify` per line. */
export const jsonlEncoder: Encoder = {
  format: 'jsonl',
  encode(records: readonly object[]): Buffer {
    let text = '';
    for (const record of records) text += `${jsonLine(record)}\n`;
    return Buffer.from(text);
  },
};

/** A JSONL file destination for `exportInferenceResults`. */
export function createJsonlDestination(options: AppendingFileOptions): Destination {
  return new JsonlFileDestination('JSONL', jsonlEncoder, options);
}

class JsonlFileDestination extends AppendingFileDestination {
  async writeLines(partition: number, lines: JsonLines, position: PartitionPosition): Promise<void> {
    await this.append(partition, lines.bytes, position);
  }
}
