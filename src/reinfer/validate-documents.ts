/**
 * Checks of each input before it is sent, against the limits of API-NOTES, so that one bad
 * document costs no request; and the error that names the bad inputs by their stream index.
 */
import { InferenceStreamsError } from '../core/errors.js';
import type { CommentInput } from './types.js';

export const MAX_BATCH_DOCUMENTS = 4096;
export const MAX_MESSAGES = 2048;
export const MAX_TEXT_CHARS = 65_536;

/**
 * Inputs that cannot be predicted: refused by our checks before sending (`cause` undefined), or
 * by the server with 400/422 (`cause` is that `InvalidRequestError`, isolated by bisection).
 */
export class InvalidDocumentError extends InferenceStreamsError {
  /** 0-based stream indexes of the bad inputs. */
  readonly indexes: number[];
  /** What is wrong, e.g. `messages is required` or the server's message. */
  readonly reason: string;

  constructor(indexes: number[], reason: string, options?: { cause?: unknown }) {
    const which = indexes.length === 1 ? `input ${indexes[0]}` : `inputs ${indexes.slice(0, 20).join(', ')}${indexes.length > 20 ? ', …' : ''}`;
    super(`Cannot predict ${which}: ${reason}`, options);
    this.indexes = indexes;
    this.reason = reason;
  }

  /** The first bad input's index. */
  get index(): number {
    return this.indexes[0];
  }
}

/** A `/predict` document: the problem, or undefined when it may be sent. */
export function checkDocument(input: unknown): string | undefined {
  if (!isObject(input)) return 'a document must be an object with "messages"';
  const messages = input.messages;
  if (!Array.isArray(messages) || messages.length === 0) return 'messages is required (a non-empty array)';
  if (messages.length > MAX_MESSAGES) return `at most ${MAX_MESSAGES} messages (got ${messages.length})`;
  for (let m = 0; m < messages.length; m++) {
    const message: unknown = messages[m];
    if (!isObject(message)) return `messages[${m}] must be an object`;
    for (const part of ['body', 'subject', 'signature'] as const) {
      const value = message[part];
      if (value === undefined) continue;
      const text = isObject(value) ? value.text : undefined;
      if (typeof text !== 'string') return `messages[${m}].${part}.text must be a string`;
      if (text.length > MAX_TEXT_CHARS) return `messages[${m}].${part}.text is longer than ${MAX_TEXT_CHARS} characters (${text.length})`;
    }
  }
  if (input.timestamp !== undefined && typeof input.timestamp !== 'string') return 'timestamp must be an ISO 8601 string';
  return checkUserProperties(input.user_properties);
}

/** A `/predict-raw-emails` document. */
export function checkRawEmail(input: unknown): string | undefined {
  if (!isObject(input)) return 'a document must be an object with "raw_email"';
  const email = input.raw_email;
  if (!isObject(email)) return 'raw_email is required (an object with headers and body)';
  if (!isObject(email.headers) || (typeof email.headers.raw !== 'string' && !isObject(email.headers.parsed))) {
    return 'raw_email.headers needs "raw" (a string) or "parsed" (an object)';
  }
  if (!isObject(email.body) || (typeof email.body.plain !== 'string' && typeof email.body.html !== 'string')) {
    return 'raw_email.body needs "plain" or "html" text';
  }
  return checkUserProperties(input.user_properties);
}

/** `source_id.comment_id`. */
const COMMENT_UID = /^[^.\s]+\.[^\s]+$/;

/** A `/predict-comments` input: the uid, or the problem. */
export function commentUid(input: CommentInput | unknown): { uid: string } | { problem: string } {
  const uid = typeof input === 'string' ? input : isObject(input) ? input.uid : undefined;
  if (typeof uid !== 'string' || !COMMENT_UID.test(uid)) {
    return { problem: 'a comment uid must be a "source_id.comment_id" string (or an object with such a "uid")' };
  }
  return { uid };
}

function checkUserProperties(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) return 'user_properties must be an object';
  for (const [key, v] of Object.entries(value)) {
    if (key.startsWith('string:') && key.length > 7) {
      if (typeof v !== 'string') return `user_properties["${key}"] must be a string`;
    } else if (key.startsWith('number:') && key.length > 7) {
      if (typeof v !== 'number' || !Number.isFinite(v)) return `user_properties["${key}"] must be a finite number`;
    } else {
      return `user_properties key "${key}" must start with "string:" or "number:"`;
    }
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
