/**
 * The three public transforms. Each validates its options before the first request, then builds
 * a {@link PredictStream} with the adapter of its endpoint: how an input is checked and put on
 * the wire, and how the answer maps back to the inputs.
 */
import { ConfigError, ProtocolError } from '../core/errors.js';
import { booleanOption, stringOption } from '../core/options.js';
import { endpointLabel, predict, predictComments as postPredictComments, predictRawEmails as postPredictRawEmails, type CallHooks } from './client.js';
import { resolveConnection, resolveLabels, resolveThreshold, resolveVersion, type ReinferConnection } from './options.js';
import { toParts, type PredictionParts } from './outputs.js';
import { PredictStream, resolveStreamOptions, type PredictAdapter, type PredictStreamOptions } from './predict-stream.js';
import type { CommentInput, LabelRequest, ModelVersion, PredictCommentsResponse, PredictResponse, RawEmailDocument, ReinferDocument } from './types.js';
import { checkDocument, checkRawEmail, commentUid } from './validate-documents.js';

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

/** Check that an answer holds one entry per document. */
function aligned(response: PredictResponse | undefined, count: number, endpoint: string): PredictResponse {
  if (!response || !Array.isArray(response.predictions) || response.predictions.length !== count) {
    const got = Array.isArray(response?.predictions) ? `${response.predictions.length} predictions` : 'no predictions array';
    throw new ProtocolError(endpoint, `expected ${count} predictions (one per document), got ${got}`);
  }
  return response;
}

function documentParts(response: PredictResponse, count: number, withComments: boolean): PredictionParts[] {
  const parts: PredictionParts[] = new Array(count);
  for (let i = 0; i < count; i++) {
    parts[i] = toParts(response.predictions[i], response.entities?.[i], response.label_properties?.[i], response.sentiment?.[i], response.model);
    if (withComments && response.comments?.[i]) parts[i].comment = response.comments[i];
  }
  return parts;
}

/** The wire form of a document: only `messages`, `timestamp` and `user_properties` are sent. */
function documentWire(doc: ReinferDocument): string {
  let onlySent = true;
  for (const key in doc) if (key !== 'messages' && key !== 'timestamp' && key !== 'user_properties') onlySent = false;
  if (onlySent) return JSON.stringify(doc); // nothing to leave out: no copy
  const wire: Record<string, unknown> = { messages: doc.messages };
  if (doc.timestamp !== undefined) wire.timestamp = doc.timestamp;
  if (doc.user_properties !== undefined) wire.user_properties = doc.user_properties;
  return JSON.stringify(wire);
}

/**
 * A Transform from Reinfer documents (`{messages, timestamp?, user_properties?}`, extra fields
 * kept on the output) to predictions `{input, labels, entities, labelProperties, sentiment, model}`,
 * batched (`batchSize`), `concurrency` requests in flight, in input order.
 */
export function predictDocuments(options: PredictOptions): PredictStream<ReinferDocument> {
  const { connection, extra, stream } = resolvePredict(options);
  const adapter: PredictAdapter = {
    prepare(input) {
      const problem = checkDocument(input);
      return problem ? { problem } : { wire: documentWire(input as ReinferDocument) };
    },
    async send(wires, _uids, hooks: CallHooks) {
      const result = await predict(connection, `{"documents":[${wires.join(',')}]${extra}}`, hooks);
      const response = aligned(result.data, wires.length, endpointLabel('predict'));
      return { parts: documentParts(response, wires.length, false), bytes: result.bytes };
    },
  };
  return new PredictStream<ReinferDocument>(connection, stream, adapter);
}

/**
 * A Transform from raw emails (`{raw_email: {headers, body}, user_properties?}`) to predictions;
 * with `includeComments` each output also carries the parsed `comment`.
 */
export function predictRawEmails(options: PredictRawEmailsOptions): PredictStream<RawEmailDocument> {
  const { connection, extra, stream } = resolvePredict(options);
  const transformTag = stringOption('transformTag', options.transformTag, true);
  const includeComments = booleanOption('includeComments', options.includeComments, false);
  const fields = `,"transform_tag":${JSON.stringify(transformTag)},"include_comments":${includeComments}${extra}`;
  const adapter: PredictAdapter = {
    prepare(input) {
      const problem = checkRawEmail(input);
      if (problem) return { problem };
      const doc = input as RawEmailDocument;
      return { wire: JSON.stringify(doc.user_properties === undefined ? { raw_email: doc.raw_email } : { raw_email: doc.raw_email, user_properties: doc.user_properties }) };
    },
    async send(wires, _uids, hooks) {
      const result = await postPredictRawEmails(connection, `{"documents":[${wires.join(',')}]${fields}}`, hooks);
      const response = aligned(result.data, wires.length, endpointLabel('predict-raw-emails'));
      return { parts: documentParts(response, wires.length, includeComments), bytes: result.bytes };
    },
  };
  return new PredictStream<RawEmailDocument>(connection, stream, adapter);
}

/**
 * A Transform from comment uids (`'source_id.comment_id'` strings, or objects with a `uid`) to
 * predictions of comments already stored on the platform.
 */
export function predictComments(options: PredictCommentsOptions): PredictStream<CommentInput> {
  const { connection, extra, stream } = resolvePredict(options);
  const adapter: PredictAdapter = {
    prepare(input) {
      const checked = commentUid(input);
      return 'problem' in checked ? checked : { wire: JSON.stringify(checked.uid), uid: checked.uid };
    },
    async send(wires, uids, hooks) {
      const result = await postPredictComments(connection, `{"uids":[${wires.join(',')}]${extra}}`, hooks);
      return { parts: commentParts(result.data, uids as string[]), bytes: result.bytes };
    },
  };
  return new PredictStream<CommentInput>(connection, stream, adapter);
}

/** Match `/predict-comments` answers to the uids asked for (by uid, not by position). */
function commentParts(response: PredictCommentsResponse | undefined, uids: string[]): PredictionParts[] {
  const endpoint = endpointLabel('predict-comments');
  if (!response || !Array.isArray(response.predictions)) throw new ProtocolError(endpoint, 'the answer has no predictions array');
  const byUid = new Map(response.predictions.map((p) => [p.uid, p]));
  return uids.map((uid) => {
    const found = byUid.get(uid);
    if (!found) throw new ProtocolError(endpoint, `the answer has no prediction for uid "${uid}"`);
    return { uid, ...toParts(found.labels, found.entities, found.label_properties, found.sentiment, response.model) };
  });
}
