/**
 * The object store behind SafetyKit imports, as the emulator plays it: pre-signed, expiring URLs
 * (HMAC over bucket, key and expiry, carried in the query string), a PUT that behaves like S3's
 * (403 bad signature or expired, 411 without Content-Length, 400 with an Authorization header),
 * and result downloads generated line by line.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EmulatorRequest, EmulatorResponse } from './types.js';
import { resultItem, uploadedLines, type StoredRequest } from './safetykit-store.js';

export const UPLOAD_BUCKET = 'safetykit-uploads';
export const RESULTS_BUCKET = 'safetykit-results';

/** Signs and checks pre-signed URLs with a secret that lives as long as the emulator. */
export class UrlSigner {
  private readonly secret = randomBytes(32);

  /** `<base>/_objects/<bucket>/<key>?expires=<ms>&signature=<hex>`. */
  sign(baseUrl: string, bucket: string, key: string, expiresAt: number): string {
    const path = key.split('/').map(encodeURIComponent).join('/');
    return `${baseUrl}/_objects/${bucket}/${path}?expires=${expiresAt}&signature=${this.signature(bucket, key, expiresAt)}`;
  }

  /** Undefined when the URL's signature and expiry hold, else the 403 to answer. */
  check(request: EmulatorRequest, bucket: string): EmulatorResponse | undefined {
    const key = request.params.key;
    const expires = Number(request.url.searchParams.get('expires'));
    const given = Buffer.from(request.url.searchParams.get('signature') ?? '', 'utf8');
    const wanted = Buffer.from(this.signature(bucket, key, expires), 'utf8');
    if (!Number.isInteger(expires) || given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      return s3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    }
    if (Date.now() > expires) return s3Error(403, 'AccessDenied', 'Request has expired');
    return undefined;
  }

  private signature(bucket: string, key: string, expiresAt: number): string {
    return createHmac('sha256', this.secret).update(`${bucket}\n${key}\n${expiresAt}`).digest('hex');
  }
}

/** An S3-style XML error, as an object store answers. */
export function s3Error(status: number, code: string, message: string): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  };
}

/**
 * Store the PUT body of an import in `filePath`, streamed to disk (uploads can be GBs). Resolves
 * to the byte count; rejects when the body is cut short.
 */
export async function storeUpload(request: EmulatorRequest, filePath: string, expectedBytes: number): Promise<number> {
  try {
    await pipeline(request.raw, createWriteStream(filePath, { highWaterMark: 1 << 20 }));
    const { size } = await stat(filePath);
    if (size !== expectedBytes) throw new Error(`received ${size} of ${expectedBytes} bytes`);
    return size;
  } catch (error) {
    await rm(filePath, { force: true });
    throw error;
  }
}

/** The results of a finished request as JSONL, generated while it is sent (never all in memory). */
export function resultsStream(stored: StoredRequest): Readable {
  const namespace = stored.namespace;
  async function* lines(): AsyncGenerator<string> {
    let chunk = '';
    let inChunk = 0;
    const ids: AsyncIterable<string> | Iterable<string> = stored.kind === 'add' ? (stored.ids ?? []) : importedIds(stored.filePath!);
    for await (const id of ids) {
      chunk += `${JSON.stringify(resultItem(namespace, id))}\n`;
      if (++inChunk === 500) {
        yield chunk;
        chunk = '';
        inChunk = 0;
      }
    }
    if (chunk.length > 0) yield chunk;
  }
  return Readable.from(lines(), { objectMode: false });
}

async function* importedIds(filePath: string): AsyncGenerator<string> {
  for await (const line of uploadedLines(filePath)) {
    if (line.trim().length === 0) continue;
    yield (JSON.parse(line) as { id: string }).id;
  }
}
