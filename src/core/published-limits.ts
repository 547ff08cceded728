/**
 * The request limits a vendor publishes, as data: today the Reinfer (Communications Mining)
 * OpenAPI 2.0 definition of v1 `predict`, `predict-raw-emails` and `predict-comments`.
 *
 * Why this vendor table sits in core: the client checks each document with it before sending,
 * and the emulator answers 400 with it, so it must be one table both may import; the emulator
 * depends on core only (DESIGN), and core must not depend on a vendor folder. It is plain data
 * over the vendor-neutral {@link Shape} checker, with no HTTP and no client code.
 */
import { compileShape, type Shape, type ShapeCheck } from './shape.js';

/** Characters of one text (`body.text`, `translated_from`, `headers.raw`, `body.plain`). */
export const MAX_TEXT_CHARS = 65_536;
/** Characters of a raw email's HTML body. */
export const MAX_HTML_CHARS = 33_554_432;
/** Documents (or uids) in one request. */
export const MAX_DOCUMENTS = 4096;
/** Messages in one document. */
export const MAX_MESSAGES = 2048;
/** Addresses in `to`, `cc` or `bcc`. */
export const MAX_ADDRESSES = 2048;
/** Characters of one address (`from` and each of `to`, `cc`, `bcc`). */
export const MAX_ADDRESS_CHARS = 512;
/** Labels requested in the `labels` option. */
export const MAX_LABELS = 4096;
/** Parts of a hierarchical label name, and characters of each part. */
export const MAX_LABEL_PARTS = 64;
export const MAX_LABEL_PART_CHARS = 64;
/** Attachments of a raw email, and characters of an attachment's name or content type. */
export const MAX_ATTACHMENTS = 128;
export const MAX_ATTACHMENT_FIELD_CHARS = 256;

const text: Shape = { type: 'string', maxLength: MAX_TEXT_CHARS };
/** `body`, `subject`, `signature` of a message. */
const content: Shape = { type: 'object', fields: { text, translated_from: text }, required: ['text'] };
const address: Shape = { type: 'string', minLength: 1, maxLength: MAX_ADDRESS_CHARS };
const addresses: Shape = { type: 'array', items: address, maxItems: MAX_ADDRESSES };

/** One message of a comment; no other keys. */
export const MESSAGE: Shape = {
  type: 'object',
  fields: {
    body: content,
    subject: content,
    signature: content,
    from: address,
    to: addresses,
    cc: addresses,
    bcc: addresses,
    sent_at: { type: 'string' },
    language: { type: 'string', minLength: 1, maxLength: 8 },
  },
  required: ['body'],
  otherFields: 'refuse',
};

/** `string:` keys hold strings, `number:` keys hold finite numbers. */
export const USER_PROPERTIES: Shape = {
  type: 'prefix-map',
  prefixes: { 'string:': { type: 'string' }, 'number:': { type: 'number' } },
};

/**
 * A `/predict` document. Other keys are allowed here: the client keeps them on its output and
 * sends only these (its wire form), and an unknown document key is not among the published limits.
 */
export const PREDICT_DOCUMENT: Shape = {
  type: 'object',
  fields: {
    messages: { type: 'array', items: MESSAGE, minItems: 1, maxItems: MAX_MESSAGES },
    timestamp: { type: 'string' },
    user_properties: USER_PROPERTIES,
    text_format: { type: 'string', values: ['markdown', 'plain'] },
  },
  required: ['messages'],
};

const attachmentField: Shape = { type: 'string', maxLength: MAX_ATTACHMENT_FIELD_CHARS };

/** `raw_email` of a `/predict-raw-emails` document. */
export const RAW_EMAIL: Shape = {
  type: 'object',
  fields: {
    headers: { type: 'object', fields: { raw: text, parsed: { type: 'object' } }, requireOneOf: ['raw', 'parsed'] },
    body: { type: 'object', fields: { plain: text, html: { type: 'string', maxLength: MAX_HTML_CHARS } }, requireOneOf: ['plain', 'html'] },
    attachments: {
      type: 'array',
      maxItems: MAX_ATTACHMENTS,
      items: {
        type: 'object',
        fields: { name: attachmentField, size: { type: 'number', integer: true, min: 0 }, content_type: attachmentField },
        required: ['name', 'size', 'content_type'],
      },
    },
  },
  required: ['headers', 'body'],
};

/** A `/predict-raw-emails` document (other keys: as {@link PREDICT_DOCUMENT}). */
export const RAW_EMAIL_DOCUMENT: Shape = {
  type: 'object',
  fields: { raw_email: RAW_EMAIL, user_properties: USER_PROPERTIES },
  required: ['raw_email'],
};

/** One entry of the `labels` request option, in wire form (`name` as parts). */
export const LABEL: Shape = {
  type: 'object',
  fields: {
    name: { type: 'array', items: { type: 'string', minLength: 1, maxLength: MAX_LABEL_PART_CHARS }, minItems: 1, maxItems: MAX_LABEL_PARTS },
    threshold: { type: 'number', min: 0, max: 1 },
  },
  required: ['name'],
};

/** The `labels` request option. */
export const LABELS: Shape = { type: 'array', items: LABEL, maxItems: MAX_LABELS };

/** `include_comments` and `transform_tag` of `/predict-raw-emails` (the tag is required there). */
export const INCLUDE_COMMENTS: Shape = { type: 'boolean' };
export const TRANSFORM_TAG: Shape = { type: 'string', minLength: 1 };

/** Checkers compiled once, shared by the client's per-document checks and the emulator. */
export const checkPredictDocument: ShapeCheck = compileShape(PREDICT_DOCUMENT);
export const checkRawEmailDocument: ShapeCheck = compileShape(RAW_EMAIL_DOCUMENT);
export const checkLabels: ShapeCheck = compileShape(LABELS);
export const checkIncludeComments: ShapeCheck = compileShape(INCLUDE_COMMENTS);
export const checkTransformTag: ShapeCheck = compileShape(TRANSFORM_TAG);
