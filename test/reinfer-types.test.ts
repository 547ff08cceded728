/**
 * The predict streams' public types, checked by the compiler as a user's code would meet them
 * (strict, importing the package by name): `for await` and `'data'` give typed outputs (never
 * `any`), `write()` takes only the input type, `'progress'` gives the stats, and the streams
 * still fit `pipeline()` between other stages. A wrong type here is a compile error, so the
 * test fails whenever one of these degrades to `any`.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const scratch = join(root, 'test', '.reinfer-types');

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const USER_CODE = `
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  predictComments, predictDocuments, predictRawEmails, stringifyJsonl,
  type Prediction, type PredictionFailure, type ReinferDocument, type RawEmailDocument, type CommentInput, type ReinferStats,
} from 'inference-streams';

type IsAny<T> = 0 extends 1 & T ? true : false;
const options = { project: 'p', dataset: 'd', endpoint: 'http://127.0.0.1:1', token: 'token-123456' };

export async function iterate(): Promise<void> {
  const documents = predictDocuments(options);
  for await (const p of documents) {
    const notAny: IsAny<typeof p> = false;
    const prediction: Prediction<ReinferDocument> = p;
    const fullName: string = p.labels[0].fullName;
    const sentiment: number | null = p.sentiment;
    const firstMessage: string = p.input.messages[0].body.text;
    // @ts-expect-error: outputs have no such field
    void p.notAField;
    void notAny, prediction, fullName, sentiment, firstMessage;
  }

  // The input type is a parameter: extra fields of the user's documents come back typed.
  interface Ticket extends ReinferDocument { id: string }
  for await (const p of predictDocuments<Ticket>(options)) {
    const id: string = p.input.id;
    void id;
  }

  // onError: 'emit' makes failures part of the output type.
  for await (const r of predictRawEmails({ ...options, transformTag: 'generic.0.CONVKER5', onError: 'emit' })) {
    const notAny: IsAny<typeof r> = false;
    if ('error' in r) {
      const failure: PredictionFailure<RawEmailDocument> = r;
      const index: number = r.index;
      void failure, index;
    } else {
      const labels: number = r.labels.length;
      void labels;
    }
    void notAny;
  }
  // Without it, an output is always a prediction.
  for await (const p of predictComments(options)) {
    const input: CommentInput = p.input;
    const uid: string | undefined = p.uid;
    // @ts-expect-error: no failures without onError: 'emit'
    void p.error;
    void input, uid;
  }
}

export function writeAndListen(): void {
  const documents = predictDocuments(options);
  documents.write({ messages: [{ body: { text: 'Where is my order?' } }] });
  // @ts-expect-error: not a document
  documents.write(42);
  // @ts-expect-error: a document needs messages
  documents.write({ body: { text: 'no messages' } });
  // @ts-expect-error: a message needs a body
  documents.write({ messages: [{ subject: { text: 'no body' } }] });
  // @ts-expect-error: text_format is "markdown" or "plain"
  documents.write({ messages: [{ body: { text: 'x' } }], text_format: 'html' });

  const comments = predictComments(options);
  comments.write('source.comment');
  comments.write({ uid: 'source.comment', kept: true });
  // @ts-expect-error: a uid is a string
  comments.write(7);

  documents.on('progress', (stats) => {
    const notAny: IsAny<typeof stats> = false;
    const typed: ReinferStats = stats;
    const predicted: number = stats.predicted;
    // @ts-expect-error: stats have no such counter
    void stats.notACounter;
    void notAny, typed, predicted;
  });
  documents.once('data', (p) => {
    const notAny: IsAny<typeof p> = false;
    const fullName: string = p.labels[0].fullName;
    void notAny, fullName;
  });
  documents.on('error', (error) => void error.message);
  documents.on('end', () => undefined);
}

// The streams still fit pipeline() between other stages, and the next stage sees typed outputs.
export async function pipelines(documents: ReinferDocument[]): Promise<void> {
  await pipeline(Readable.from(documents), predictDocuments(options), stringifyJsonl(), createWriteStream('out.jsonl'));
  await pipeline(
    Readable.from(documents),
    predictDocuments({ ...options, onError: 'emit' }),
    async function* (outputs) {
      for await (const r of outputs) yield 'error' in r ? \`bad \${r.index}\\n\` : \`\${r.labels.length}\\n\`;
    },
    createWriteStream('out.txt'),
  );
  await pipeline(Readable.from(documents), predictDocuments(options), async (outputs: AsyncIterable<Prediction<ReinferDocument>>) => {
    for await (const p of outputs) void p.labels;
  });
}
`;

describe('predict stream types', () => {
  it('type-check as a user would use them (strict): typed iteration, write(), events, pipeline()', async () => {
    await mkdir(scratch, { recursive: true });
    const file = join(scratch, 'user-code.ts');
    await writeFile(file, USER_CODE);
    const tsconfig = {
      extends: join(root, 'tsconfig.json'),
      compilerOptions: {
        noEmit: true,
        rootDir: root,
        paths: { 'inference-streams': [join(root, 'src/index.ts')] },
      },
      include: [],
      files: [file],
    };
    await writeFile(join(scratch, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    const output = await promisify(execFile)(tsc, ['-p', join(scratch, 'tsconfig.json')]).then(
      () => '',
      (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
    );
    // Only this file's errors count (another file of the tree may be mid-edit by someone else).
    expect(output.split('\n').filter((line) => line.includes('user-code.ts')).join('\n')).toBe('');
  }, 120_000);
});
