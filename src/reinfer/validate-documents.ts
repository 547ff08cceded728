/**
 * Checks of each input before it is sent, against the vendor's published limits (the table in
 * core/published-limits.ts, which the emulator enforces too), so that one bad document costs no
 * request; and the error that names the bad inputs by their stream index.
 */
import { InferenceStreamsError } from '../core/errors.js';
import { checkPredictDocument, checkRawEmailDocument, MAX_DOCUMENTS } from '../core/published-limits.js';
import { describeProblem } from '../core/shape.js';
import type { CommentInput } from './types.js';

export const MAX_BATCH_DOCUMENTS = MAX_DOCUMENTS;

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

/** A `/predict` document: the problem (naming the field), or undefined when it may be sent. */
export function checkDocument(input: unknown): string | undefined {
  if (!isObject(input)) return 'a document must be an object with "messages"';
  const found = checkPredictDocument(input);
  return found === undefined ? undefined : describeProblem(found);
}

/** A `/predict-raw-emails` document. */
export function checkRawEmail(input: unknown): string | undefined {
  if (!isObject(input)) return 'a document must be an object with "raw_email"';
  const found = checkRawEmailDocument(input);
  return found === undefined ? undefined : describeProblem(found);
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
