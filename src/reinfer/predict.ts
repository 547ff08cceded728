/**
 * The three public transforms. Each validates its options before the first request, then builds
 * a {@link PredictStream} with the adapter of its endpoint: how an input is checked and put on
 * the wire, and how the answer maps back to the inputs.
 */
import { ConfigError, ProtocolError } from '../core/errors.js';
import { booleanOption, stringOption } from '../core/options.js';
import { endpointLabel, predict, predictComments as postPredictComments, predictRawEmails as postPredictRawEmails, type CallHooks } from './client.js';
import { resolveConnection, resolveLabels, resolveThreshold, resolveVersion, type ReinferConnection } from './options.js';
import { toCommentPrediction, toPrediction } from './outputs.js';
import { requestBody } from './request-body.js';
import { PredictStream, resolveStreamOptions, Unsendable, type PredictAdapter, type PredictStreamOptions } from './predict-stream.js';
import type { CommentInput, LabelRequest, ModelVersion, Prediction, PredictionResult, PredictCommentsResponse, PredictResponse, RawEmailDocument, ReinferDocument, WireEntity, WireLabelProperty } from './types.js';
import { checkDocument, checkRawEmail, commentUid } from './validate-documents.js';
import { counted } from '../core/plural.js';

/** Options of {@link predictDocuments} (and the base of the other two). */
export interface PredictOptions extends PredictStreamOptions {
  /** Model version: an integer, `'live'` or `'staging'`. Default `'live'`. */
  version?: ModelVersion;
  /** Confidence threshold 0..1, or `'auto'` (labels carry `autoThresholds`). Default: the server's (0.25). */
  threshold?: number | 'auto';
  /** Only these labels, each with an optional threshold (`name` as `['A', 'B']` or `'A > B'`). Default all. */
  labels?: LabelRequest[];
}

/** Options of {@link predictRawEmails}. */
export interface PredictRawEmailsOptions extends PredictOptions {
  /** How the platform parses the emails, e.g. `'generic.0.CONVKER5'` (required). */
  transformTag: string;
  /** Add the comment parsed from each email to its output (`comment`). Default false. */
  includeComments?: boolean;
}

/** Options of {@link predictComments}. */
export type PredictCommentsOptions = PredictOptions;

interface Common {
  connection: ReinferConnection;
  extra: string;
}

function resolvePredict(options: PredictOptions): Common & { stream: ReturnType<typeof resolveStreamOptions> } {
  if (!options || typeof options !== 'object') throw new ConfigError('options', 'must be an object with project and dataset');
  const connection = resolveConnection(options, resolveVersion(options.version));
  const threshold = resolveThreshold(options.threshold);
  const labels = resolveLabels(options.labels);
  const stream = resolveStreamOptions(options);
  // The request fields besides the documents, serialized once: `,"threshold":0.3,"labels":[...]`.
  let extra = '';
  if (threshold !== undefined) extra += `,"threshold":${JSON.stringify(threshold)}`;
  if (labels !== undefined) extra += `,"labels":${JSON.stringify(labels)}`;
  return { connection, extra, stream };
}

const DOCUMENTS_HEAD = Buffer.from('{"documents":[');
const UIDS_HEAD = Buffer.from('{"uids":[');

/** Check that an answer holds one entry per document. */
function aligned(response: PredictResponse | undefined, count: number, endpoint: string): PredictResponse {
  if (!response || !Array.isArray(response.predictions) || response.predictions.length !== count) {
    const got = Array.isArray(response?.predictions) ? counted(response.predictions.length, 'prediction') : 'no predictions array';
    throw new ProtocolError(endpoint, `expected ${counted(count, 'prediction')} (one per document), got ${got}`);
  }
  return response;
}

/** One output per input from a `/predict` or `/predict-raw-emails` answer (already `aligned`). */
function documentOutputs(response: PredictResponse, inputs: readonly unknown[], withComments: boolean): Prediction<unknown>[] {
  const { predictions, entities, label_properties: properties, sentiment, model, comments } = response;
  const outputs: Prediction<unknown>[] = new Array(inputs.length);
  const perDocumentSentiment = Array.isArray(sentiment);
  // A single number can only be one document's sentiment.
  const singleSentiment = inputs.length === 1 && typeof sentiment === 'number' ? sentiment : undefined;
  for (let i = 0; i < inputs.length; i++) {
    const output = toPrediction(
      inputs[i],
      predictions[i],
      forDocument<WireEntity>(entities, i, inputs.length),
      forDocument<WireLabelProperty>(properties, i, inputs.length),
      perDocumentSentiment ? sentiment[i] : singleSentiment,
      model,
    );
    if (withComments && comments?.[i]) output.comment = comments[i];
    outputs[i] = output;
    // This document's part of the parsed answer is garbage from here on (the output keeps only
    // its label names): a scavenge while the rest are built then copies what is left of the
    // answer, not all of it. The profile had each batch's ~5 MB answer tree surviving one.
    predictions[i] = undefined as never;
    if (Array.isArray(entities)) entities[i] = undefined as never;
    if (Array.isArray(properties)) properties[i] = undefined as never;
  }
  return outputs;
}

/**
 * A per-document part of an answer (`entities`, `label_properties`): normally one array per
 * document. Seed 002 also words `label_properties` as one flat array "for this comment"; such a
 * flat array belongs to a one-document request and cannot be attributed otherwise.
 */
function forDocument<T>(value: unknown, index: number, count: number): T[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const entry: unknown = value[index];
  if (Array.isArray(entry)) return entry as T[];
  if (entry === undefined || entry === null) return undefined;
  return count === 1 ? (value as T[]) : undefined;
}

/**
 * The wire form of a document: only `messages`, `timestamp`, `user_properties` and `text_format`
 * are sent. A document with nothing to leave out goes as `text`, its JSON as read, when known.
 */
function documentWire(doc: ReinferDocument, text: string | undefined): string {
  let onlySent = true;
  for (const key in doc) if (key !== 'messages' && key !== 'timestamp' && key !== 'user_properties' && key !== 'text_format') onlySent = false;
  if (onlySent) return text ?? JSON.stringify(doc); // nothing to leave out: no copy
  const wire: Record<string, unknown> = { messages: doc.messages };
  if (doc.timestamp !== undefined) wire.timestamp = doc.timestamp;
  if (doc.user_properties !== undefined) wire.user_properties = doc.user_properties;
  if (doc.text_format !== undefined) wire.text_format = doc.text_format;
  return JSON.stringify(wire);
}

/**
 * A Transform from Reinfer documents (`{messages, timestamp?, user_properties?}`, extra fields
 * kept on the output) to predictions `{input, labels, entities, labelProperties, sentiment, model}`,
 * batched (`batchSize`), `concurrency` requests in flight, in input order.
 *
 * Each of the three transforms also takes `JsonText` inputs (from `parseJsonl({keepText: true})`
 * or `parseJsonArray({keepText: true})`): the value is checked and sent, and the output's
 * `input` is that same `JsonText`, which `stringifyJsonl` writes as the text it was read from
 * (so pass-through fields such as an `id` of `12345678901234567890` keep every digit).
 */
export function predictDocuments<D extends ReinferDocument = ReinferDocument>(options: PredictOptions & { onError: 'emit' }): PredictStream<D, PredictionResult<D>>;
export function predictDocuments<D extends ReinferDocument = ReinferDocument>(options: PredictOptions & { onError?: 'throw' }): PredictStream<D>;
export function predictDocuments<D extends ReinferDocument = ReinferDocument>(options: PredictOptions): PredictStream<D, PredictionResult<D>>;
export function predictDocuments(options: PredictOptions): PredictStream<ReinferDocument, PredictionResult<ReinferDocument>> {
  const { connection, extra, stream } = resolvePredict(options);
  const tail = Buffer.from(`]${extra}}`);
  const adapter: PredictAdapter = {
    wire(value, text) {
      const problem = checkDocument(value);
      return problem === undefined ? documentWire(value as ReinferDocument, text) : new Unsendable(problem);
    },
    async send(wireBytes, inputs, hooks: CallHooks) {
      const result = await predict(connection, requestBody(DOCUMENTS_HEAD, wireBytes, tail), hooks);
      const response = aligned(result.data, inputs.length, endpointLabel('predict'));
      return { outputs: documentOutputs(response, inputs, false), bytes: result.bytes };
    },
  };
  return new PredictStream<ReinferDocument, PredictionResult<ReinferDocument>>(connection, stream, adapter);
}

/**
 * A Transform from raw emails (`{raw_email: {headers, body}, user_properties?}`) to predictions;
 * with `includeComments` each output also carries the parsed `comment`.
 */
export function predictRawEmails<D extends RawEmailDocument = RawEmailDocument>(options: PredictRawEmailsOptions & { onError: 'emit' }): PredictStream<D, PredictionResult<D>>;
export function predictRawEmails<D extends RawEmailDocument = RawEmailDocument>(options: PredictRawEmailsOptions & { onError?: 'throw' }): PredictStream<D>;
export function predictRawEmails<D extends RawEmailDocument = RawEmailDocument>(options: PredictRawEmailsOptions): PredictStream<D, PredictionResult<D>>;
export function predictRawEmails(options: PredictRawEmailsOptions): PredictStream<RawEmailDocument, PredictionResult<RawEmailDocument>> {
  const { connection, extra, stream } = resolvePredict(options);
  const transformTag = stringOption('transformTag', options.transformTag, true);
  const includeComments = booleanOption('includeComments', options.includeComments, false);
  const fields = `,"transform_tag":${JSON.stringify(transformTag)},"include_comments":${includeComments}${extra}`;
  const tail = Buffer.from(`]${fields}}`);
  const adapter: PredictAdapter = {
    wire(value) {
      const problem = checkRawEmail(value);
      if (problem !== undefined) return new Unsendable(problem);
      const doc = value as RawEmailDocument;
      return JSON.stringify(doc.user_properties === undefined ? { raw_email: doc.raw_email } : { raw_email: doc.raw_email, user_properties: doc.user_properties });
    },
    async send(wireBytes, inputs, hooks) {
      const result = await postPredictRawEmails(connection, requestBody(DOCUMENTS_HEAD, wireBytes, tail), hooks);
      const response = aligned(result.data, inputs.length, endpointLabel('predict-raw-emails'));
      return { outputs: documentOutputs(response, inputs, includeComments), bytes: result.bytes };
    },
  };
  return new PredictStream<RawEmailDocument, PredictionResult<RawEmailDocument>>(connection, stream, adapter);
}

/**
 * A Transform from comment uids (`'source_id.comment_id'` strings, or objects with a `uid`) to
 * predictions of comments already stored on the platform.
 */
export function predictComments<C extends CommentInput = CommentInput>(options: PredictCommentsOptions & { onError: 'emit' }): PredictStream<C, PredictionResult<C>>;
export function predictComments<C extends CommentInput = CommentInput>(options: PredictCommentsOptions & { onError?: 'throw' }): PredictStream<C>;
export function predictComments<C extends CommentInput = CommentInput>(options: PredictCommentsOptions): PredictStream<C, PredictionResult<C>>;
export function predictComments(options: PredictCommentsOptions): PredictStream<CommentInput, PredictionResult<CommentInput>> {
  const { connection, extra, stream } = resolvePredict(options);
  const tail = Buffer.from(`]${extra}}`);
  const adapter: PredictAdapter = {
    wire(value) {
      const checked = commentUid(value);
      return 'problem' in checked ? new Unsendable(checked.problem) : JSON.stringify(checked.uid);
    },
    async send(wireBytes, inputs, hooks) {
      const result = await postPredictComments(connection, requestBody(UIDS_HEAD, wireBytes, tail), hooks);
      // The uids exactly as they were sent (one parse a request: the stream keeps no uid per input).
      const uids = JSON.parse(`[${wireBytes.toString('utf8')}]`) as string[];
      return { outputs: commentOutputs(result.data, inputs, uids), bytes: result.bytes };
    },
  };
  return new PredictStream<CommentInput, PredictionResult<CommentInput>>(connection, stream, adapter);
}

/** Match `/predict-comments` answers to the uids asked for (by uid, not by position). */
function commentOutputs(response: PredictCommentsResponse | undefined, inputs: readonly unknown[], uids: readonly string[]): Prediction<unknown>[] {
  const endpoint = endpointLabel('predict-comments');
  if (!response || !Array.isArray(response.predictions)) throw new ProtocolError(endpoint, 'the answer has no predictions array');
  const byUid = new Map(response.predictions.map((p) => [p.uid, p]));
  return inputs.map((input, i) => {
    const uid = uids[i];
    const found = byUid.get(uid);
    if (!found) throw new ProtocolError(endpoint, `the answer has no prediction for uid "${uid}"`);
    return toCommentPrediction(input, uid, found.labels, found.entities, found.label_properties, found.sentiment, response.model);
  });
}
