/**
 * The request checks of the emulated Reinfer API: the limits of API-NOTES, each answered with
 * `{status: "error", message}` naming the offending document index.
 */
import type { LabelOptions, RequestedLabel, WireMessage } from './reinfer-model.js';

export const MAX_DOCUMENTS = 4096;
export const MAX_MESSAGES = 2048;
export const MAX_TEXT_CHARS = 65_536;
export const MAX_LABELS = 4096;

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
  if (!Array.isArray(body.labels)) return refusal(400, 'labels must be an array of {name, threshold?}');
  if (body.labels.length > MAX_LABELS) return refusal(400, `labels: at most ${MAX_LABELS} labels may be requested`);
  const labels: RequestedLabel[] = [];
  for (const [i, label] of (body.labels as unknown[]).entries()) {
    const l = label as { name?: unknown; threshold?: unknown } | null;
    if (!l || !Array.isArray(l.name) || l.name.length === 0 || !l.name.every((p) => typeof p === 'string' && p.length > 0)) {
      return refusal(400, `labels[${i}].name must be a non-empty array of strings, e.g. ["Parent Label", "Child Label"]`);
    }
    if (l.threshold !== undefined && !(typeof l.threshold === 'number' && l.threshold >= 0 && l.threshold <= 1)) {
      return refusal(400, `labels[${i}].threshold must be a number between 0.0 and 1.0`);
    }
    labels.push({ name: l.name as string[], threshold: l.threshold as number | undefined });
  }
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

/** One `/predict` document: messages (required, ≤ 2048), texts ≤ 65 536 chars, timestamp, user properties. */
export function checkDocument(doc: unknown, index: number): Refusal | undefined {
  const where = `documents[${index}]`;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return refusal(400, `${where}: must be an object with "messages"`);
  const { messages, timestamp, user_properties: userProperties } = doc as Record<string, unknown>;
  if (!Array.isArray(messages) || messages.length === 0) return refusal(400, `${where}.messages is required (a non-empty array)`);
  if (messages.length > MAX_MESSAGES) return refusal(400, `${where}.messages: at most ${MAX_MESSAGES} messages (got ${messages.length})`);
  for (const [m, message] of messages.entries()) {
    if (!message || typeof message !== 'object') return refusal(400, `${where}.messages[${m}]: must be an object`);
    for (const part of ['body', 'subject', 'signature'] as const) {
      const value = (message as Record<string, unknown>)[part];
      if (value === undefined) continue;
      const text = (value as { text?: unknown } | null)?.text;
      if (typeof text !== 'string') return refusal(400, `${where}.messages[${m}].${part}.text must be a string`);
      if (text.length > MAX_TEXT_CHARS) return refusal(400, `${where}.messages[${m}].${part}.text is longer than ${MAX_TEXT_CHARS} characters`);
    }
  }
  if (timestamp !== undefined && (typeof timestamp !== 'string' || Number.isNaN(Date.parse(timestamp)))) {
    return refusal(422, `${where}.timestamp must be an ISO 8601 date-time`);
  }
  return checkUserProperties(userProperties, where);
}

/** `string:` keys hold strings, `number:` keys hold numbers; no other prefix. */
export function checkUserProperties(userProperties: unknown, where: string): Refusal | undefined {
  if (userProperties === undefined) return undefined;
  if (!userProperties || typeof userProperties !== 'object' || Array.isArray(userProperties)) {
    return refusal(400, `${where}.user_properties must be an object`);
  }
  for (const [key, value] of Object.entries(userProperties)) {
    if (key.startsWith('string:') && key.length > 7) {
      if (typeof value !== 'string') return refusal(422, `${where}.user_properties["${key}"] must be a string`);
    } else if (key.startsWith('number:') && key.length > 7) {
      if (typeof value !== 'number' || !Number.isFinite(value)) return refusal(422, `${where}.user_properties["${key}"] must be a number`);
    } else {
      return refusal(422, `${where}.user_properties: key "${key}" must start with "string:" or "number:"`);
    }
  }
  return undefined;
}

/** The messages of a checked document. */
export function messagesOf(doc: unknown): WireMessage[] {
  return (doc as { messages: WireMessage[] }).messages;
}
