/**
 * The request checks of the emulated Reinfer API: the vendor's published limits (the table in
 * core/published-limits.ts, the one the client checks its documents with), each answered with
 * `{status: "error", message}` naming the field, e.g. `documents[3].messages[0].from: …`.
 */
import { checkIncludeComments, checkLabels, checkPredictDocument, checkRawEmailDocument, checkTransformTag, MAX_DOCUMENTS, MAX_LABELS } from '../core/published-limits.js';
import { describeProblem, type ShapeCheck } from '../core/shape.js';
import type { LabelOptions, RequestedLabel, WireMessage } from './reinfer-model.js';

export { MAX_DOCUMENTS, MAX_LABELS };

/** A refused request: status and message. */
export interface Refusal {
  status: 400 | 404 | 422;
  message: string;
}

export function refusal(status: Refusal['status'], message: string): Refusal {
  return { status, message };
}

export function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && 'status' in value && 'message' in value && !('predictions' in value);
}

/** `threshold` and `labels` of a predict body. */
export function readLabelOptions(body: Record<string, unknown>): LabelOptions | Refusal {
  let threshold: number | 'auto' = 0.25;
  if (body.threshold !== undefined) {
    if (body.threshold === 'auto') threshold = 'auto';
    else if (typeof body.threshold === 'number' && body.threshold >= 0 && body.threshold <= 1) threshold = body.threshold;
    else return refusal(400, 'threshold must be a number between 0.0 and 1.0, or "auto"');
  }
  if (body.labels === undefined) return { threshold };
  const problem = checkLabels(body.labels);
  if (problem !== undefined) return refusal(400, describeProblem(problem, 'labels'));
  const labels: RequestedLabel[] = (body.labels as Array<{ name: string[]; threshold?: number }>).map((l) => ({ name: l.name, threshold: l.threshold }));
  return { threshold, labels };
}

/** The `documents` array of a body: present, an array, at most 4096. */
export function readDocumentList(body: Record<string, unknown>): unknown[] | Refusal {
  if (!Array.isArray(body.documents)) return refusal(400, 'documents is required (an array of at most 4096 documents)');
  if (body.documents.length > MAX_DOCUMENTS) {
    return refusal(400, `too many documents: ${body.documents.length} (a batch holds at most ${MAX_DOCUMENTS})`);
  }
  return body.documents;
}

/** One `/predict` document against the published limits; then its timestamp must parse (422). */
export function checkDocument(doc: unknown, index: number): Refusal | undefined {
  const refused = checkShape(checkPredictDocument, doc, index);
  if (refused !== undefined) return refused;
  const { timestamp } = doc as { timestamp?: string };
  if (timestamp !== undefined && Number.isNaN(Date.parse(timestamp))) return refusal(422, `documents[${index}].timestamp must be an ISO 8601 date-time`);
  return undefined;
}

/** One `/predict-raw-emails` document against the published limits. */
export function checkRawEmail(doc: unknown, index: number): Refusal | undefined {
  return checkShape(checkRawEmailDocument, doc, index);
}

/** `transform_tag` (required) and `include_comments` of a `/predict-raw-emails` body. */
export function checkRawEmailFields(body: Record<string, unknown>): Refusal | undefined {
  if (body.transform_tag === undefined) return refusal(400, 'transform_tag is required (a string such as "generic.0.CONVKER5")');
  const tag = checkTransformTag(body.transform_tag);
  if (tag !== undefined) return refusal(400, describeProblem(tag, 'transform_tag'));
  const comments = body.include_comments === undefined ? undefined : checkIncludeComments(body.include_comments);
  return comments === undefined ? undefined : refusal(400, describeProblem(comments, 'include_comments'));
}

function checkShape(check: ShapeCheck, doc: unknown, index: number): Refusal | undefined {
  const problem = check(doc);
  return problem === undefined ? undefined : refusal(400, describeProblem(problem, `documents[${index}]`));
}

/** The messages of a checked document. */
export function messagesOf(doc: unknown): WireMessage[] {
  return (doc as { messages: WireMessage[] }).messages;
}
