/**
 * Reinfer wire shapes (seed 002 and API-NOTES) and the shapes this library emits. Where the
 * vendors' docs allow two forms (a label name as an array or a string) both are typed.
 */

/** A model version: an integer, `live` or `staging` (`latest` too for validation). */
export type ModelVersion = number | 'live' | 'staging';

/** Text of a message part (`body`, `subject`, `signature`): at most 65,536 characters each. */
export interface MessageText {
  text: string;
  /** The original text when `text` is a translation. */
  translated_from?: string;
}

/**
 * One message of a comment (Comment Reference). No other keys are allowed; the limits are the
 * vendor's published ones (see the README's table), checked before anything is sent.
 */
export interface ReinferMessage {
  /** Required. */
  body: MessageText;
  subject?: MessageText;
  signature?: MessageText;
  /** 1..512 characters. */
  from?: string;
  /** At most 2048 addresses of 1..512 characters (so are `cc` and `bcc`). */
  to?: string[];
  cc?: string[];
  bcc?: string[];
  sent_at?: string;
  /** 1..8 characters, e.g. `'en'`. */
  language?: string;
}

/** User properties: keys start with `string:` (string values) or `number:` (number values). */
export type UserProperties = Record<string, string | number>;

/** A `/predict` document. Extra fields (an `id`, say) stay on the output and are not sent. */
export interface ReinferDocument {
  /** 1..2048 messages. */
  messages: ReinferMessage[];
  timestamp?: string;
  user_properties?: UserProperties;
  /** How the texts are written. Default the server's. */
  text_format?: 'markdown' | 'plain';
  [field: string]: unknown;
}

/** An attachment of a raw email (at most 128). */
export interface RawEmailAttachment {
  /** At most 256 characters. */
  name: string;
  /** Bytes, an integer ≥ 0. */
  size: number;
  /** At most 256 characters, e.g. `'application/pdf'`. */
  content_type: string;
}

/** A raw email as `/predict-raw-emails` takes it. */
export interface RawEmail {
  /** `plain` (at most 65,536 characters) or `html` (at most 33,554,432), or both. */
  body: { plain?: string; html?: string };
  /** `raw` (the header block, at most 65,536 characters) or `parsed` (name → value). */
  headers: { raw?: string; parsed?: Record<string, string | string[]> };
  attachments?: RawEmailAttachment[];
}

/** A `/predict-raw-emails` document. Extra fields stay on the output and are not sent. */
export interface RawEmailDocument {
  raw_email: RawEmail;
  user_properties?: UserProperties;
  [field: string]: unknown;
}

/** A `/predict-comments` input: a `source_id.comment_id` uid, or an object carrying one. */
export type CommentInput = string | { uid: string; [field: string]: unknown };

/** A label to request, with an optional threshold of its own. */
export interface LabelRequest {
  /** `['Parent', 'Child']` or `'Parent > Child'`. */
  name: string[] | string;
  /** 0..1; default the request's `threshold`. */
  threshold?: number;
}

/** A label as the API returns it. */
export interface WireLabel {
  name: string[] | string;
  probability: number;
  sentiment?: number;
  auto_thresholds?: string[];
}

export interface WireSpan {
  content_part: 'body' | 'subject' | 'signature';
  message_index: number;
  char_start: number;
  char_end: number;
  utf16_byte_start: number;
  utf16_byte_end: number;
}

export interface WireEntity {
  id?: string;
  name: string;
  kind: string;
  formatted_value: string;
  probability: number | null;
  span?: WireSpan;
  spans: WireSpan[];
  capture_ids?: number[];
}

export interface WireLabelProperty {
  property_id: string;
  property_name: string;
  value: number;
}

/** The model that answered. */
export interface ModelInfo {
  version: number;
  time: string;
}

/** `/predict` and `/predict-raw-emails` answer (arrays index-aligned with the documents). */
export interface PredictResponse {
  status: 'ok';
  predictions: WireLabel[][];
  entities?: WireEntity[][];
  label_properties?: WireLabelProperty[][];
  sentiment?: Array<number | null>;
  model: ModelInfo | null;
  /** `/predict-raw-emails` with `include_comments`. */
  comments?: ParsedComment[];
}

/** A comment parsed from a raw email (`include_comments`). */
export interface ParsedComment {
  id?: string;
  timestamp?: string;
  messages: ReinferMessage[];
  user_properties?: UserProperties;
  [field: string]: unknown;
}

/** `/predict-comments` answer. */
export interface PredictCommentsResponse {
  status: 'ok';
  model: ModelInfo | null;
  predictions: Array<{ uid: string; labels: WireLabel[]; entities?: WireEntity[]; label_properties?: WireLabelProperty[]; sentiment?: number | null }>;
}

/** A label of the taxonomy in a validation answer. */
export interface ValidationLabel {
  /** `'Parent > Child'`. */
  name: string;
  parts: string[];
}

export type Quality = 'poor' | 'average' | 'good' | 'excellent';

/** A model version's validation statistics (`/validation`). */
export interface Validation {
  version: number;
  labels: ValidationLabel[];
  num_labels: number;
  num_reviewed_comments: number;
  num_amber_labels: number;
  num_red_labels: number;
  mean_average_precision_safe?: number | null;
  dataset_score: number;
  dataset_quality: Quality | null;
  balance?: number | null;
  balance_quality?: Quality | null;
  coverage?: number | null;
  coverage_quality?: Quality | null;
  all_labels_quality?: Quality | null;
  underperforming_labels_quality?: Quality | null;
  [field: string]: unknown;
}

export interface ValidationResponse {
  status: 'ok';
  validation: Validation;
}

// ---- What the transforms emit ----

/** A predicted label, its hierarchical name both as parts and as one string. */
export interface PredictedLabel {
  /** `['Order', 'Missing']`. */
  name: string[];
  /** `'Order > Missing'`. */
  fullName: string;
  probability: number;
  sentiment?: number;
  /** With `threshold: 'auto'`: the auto thresholds this probability meets. */
  autoThresholds?: string[];
}

export interface EntitySpan {
  contentPart: 'body' | 'subject' | 'signature';
  messageIndex: number;
  charStart: number;
  charEnd: number;
  utf16ByteStart: number;
  utf16ByteEnd: number;
}

export interface PredictedEntity {
  id?: string;
  name: string;
  kind: string;
  formattedValue: string;
  probability: number | null;
  spans: EntitySpan[];
  captureIds?: number[];
}

export interface LabelProperty {
  id: string;
  name: string;
  value: number;
}

/** One output per successful input, in input order (unless `ordered: false`). */
export interface Prediction<Input> {
  /** The input as it was written to the stream (extra fields included). */
  input: Input;
  /** `predictComments` only: the comment's uid. */
  uid?: string;
  labels: PredictedLabel[];
  entities: PredictedEntity[];
  labelProperties: LabelProperty[];
  /** Overall sentiment in [-1, 1] when the model has sentiment, else null. */
  sentiment: number | null;
  model: ModelInfo | null;
  /** `predictRawEmails` with `includeComments`: the comment parsed from the email. */
  comment?: ParsedComment;
}

/** With `onError: 'emit'`: an input that was not predicted, and why. */
export interface PredictionFailure<Input> {
  input: Input;
  /** 0-based position of the input in the stream. */
  index: number;
  error: Error;
}

export type PredictionResult<Input> = Prediction<Input> | PredictionFailure<Input>;
