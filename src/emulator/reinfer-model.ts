/**
 * The emulated Reinfer model: deterministic predictions from a comment's text. Labels come from
 * a small hierarchical taxonomy (keywords raise a label's probability, a hash of the text gives
 * the rest), entities are found by regular expressions with exact `char_*` (code points) and
 * `utf16_byte_*` spans, and label properties and sentiment follow from the words used.
 */
import { hash32, hashString } from './http-util.js';

/** A comment message as the API carries it (seed 002, Comment Reference). */
export interface WireMessage {
  body?: { text?: string };
  subject?: { text?: string };
  signature?: { text?: string };
  from?: string;
  to?: string[];
  sent_at?: string;
}

/** The taxonomy of the emulated dataset; a parent is a label in its own right. */
export const TAXONOMY: readonly (readonly string[])[] = [
  ['Order'],
  ['Order', 'Missing'],
  ['Order', 'Damaged'],
  ['Order', 'Status'],
  ['Billing'],
  ['Billing', 'Refund'],
  ['Billing', 'Invoice'],
  ['Account'],
  ['Account', 'Access'],
  ['Feedback'],
  ['Feedback', 'Praise'],
  ['Feedback', 'Complaint'],
  ['Figures Request'],
];

const KEYWORDS: Record<string, RegExp> = {
  'Order > Missing': /\b(missing|never arrived|not arrived|lost)\b/i,
  'Order > Damaged': /\b(damaged|broken|cracked)\b/i,
  'Order > Status': /\b(where is|status|tracking|shipped)\b/i,
  'Billing > Refund': /\b(refund|money back|reimburse)\b/i,
  'Billing > Invoice': /\b(invoice|receipt|bill)\b/i,
  'Account > Access': /\b(password|log ?in|locked|access)\b/i,
  'Feedback > Praise': /\b(thanks|thank you|great|excellent)\b/i,
  'Feedback > Complaint': /\b(angry|unacceptable|terrible|complain)\b/i,
  'Figures Request': /\bfigures?\b/i,
};

/** Auto thresholds of every label: names, lowest first. */
export const AUTO_THRESHOLDS: ReadonlyArray<{ name: string; value: number }> = [
  { name: 'high_recall', value: 0.2 },
  { name: 'balanced', value: 0.45 },
  { name: 'high_precision', value: 0.75 },
];

export interface RequestedLabel {
  name: string[];
  threshold?: number;
}

export interface LabelOptions {
  /** A number, or `'auto'`. Default 0.25 (the API's). */
  threshold: number | 'auto';
  /** Only these labels, each with an optional threshold of its own. */
  labels?: RequestedLabel[];
}

export interface WireLabel {
  name: string[];
  probability: number;
  sentiment?: number;
  auto_thresholds?: string[];
}

const POSITIVE = /\b(thanks|thank you|great|excellent|happy|pleased|love)\b/gi;
const NEGATIVE = /\b(angry|unacceptable|terrible|missing|broken|damaged|late|complain|lost)\b/gi;

/** All the text of a comment, as one string (for hashing and keywords). */
export function commentText(messages: WireMessage[]): string {
  return messages.map((m) => `${m.subject?.text ?? ''}\n${m.body?.text ?? ''}\n${m.signature?.text ?? ''}`).join('\n');
}

/** Overall sentiment of a text in [-1, 1]. */
export function sentimentOf(text: string): number {
  const positive = text.match(POSITIVE)?.length ?? 0;
  const negative = text.match(NEGATIVE)?.length ?? 0;
  if (positive + negative === 0) return 0;
  return round((positive - negative) / (positive + negative));
}

/** Label probabilities for a text: every label of the taxonomy, with a probability. */
function probabilities(text: string): Map<string, number> {
  const textHash = hashString(text);
  const result = new Map<string, number>();
  for (const parts of TAXONOMY) {
    const key = parts.join(' > ');
    const keyword = KEYWORDS[key];
    const noise = (hash32(textHash, hashString(key)) % 1000) / 1000;
    result.set(key, keyword?.test(text) ? 0.6 + noise * 0.39 : noise * 0.3);
  }
  // A parent is at least as likely as its likeliest child.
  for (const parts of TAXONOMY) {
    if (parts.length !== 1) continue;
    let best = result.get(parts[0])!;
    for (const [key, value] of result) if (key.startsWith(`${parts[0]} > `)) best = Math.max(best, value);
    result.set(parts[0], best);
  }
  return result;
}

/** The labels the API returns for one comment, filtered by threshold / requested labels. */
export function predictLabels(text: string, options: LabelOptions): WireLabel[] {
  const all = probabilities(text);
  const sentiment = sentimentOf(text);
  const requested = options.labels?.map((l) => ({ key: l.name.join(' > '), threshold: l.threshold }));
  const out: WireLabel[] = [];
  for (const parts of TAXONOMY) {
    const key = parts.join(' > ');
    const probability = round(all.get(key)!);
    let threshold: number | 'auto' = options.threshold;
    if (requested) {
      const wanted = requested.find((r) => r.key === key);
      if (!wanted) continue;
      threshold = wanted.threshold ?? options.threshold;
    }
    const label: WireLabel = { name: [...parts], probability, sentiment };
    if (threshold === 'auto') {
      const met = AUTO_THRESHOLDS.filter((t) => probability >= t.value).map((t) => t.name);
      if (met.length === 0) continue;
      label.auto_thresholds = met;
    } else if (probability < threshold) {
      continue;
    }
    out.push(label);
  }
  return out.sort((a, b) => b.probability - a.probability);
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
  id: string;
  name: string;
  kind: string;
  formatted_value: string;
  probability: number | null;
  span: WireSpan;
  spans: WireSpan[];
  capture_ids: number[];
}

const ENTITY_KINDS: ReadonlyArray<{ kind: string; pattern: RegExp; format: (raw: string) => string }> = [
  { kind: 'order_number', pattern: /\b(?:ORD-\d{5,}|#\d{6,})\b/g, format: (raw) => raw.replace(/^#/, 'ORD-').toUpperCase() },
  { kind: 'date', pattern: /\b\d{4}-\d{2}-\d{2}\b/g, format: (raw) => `${raw}T00:00:00Z` },
  { kind: 'email_address', pattern: /\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/g, format: (raw) => raw.toLowerCase() },
];

/** Entities found in every part of every message, with exact spans. */
export function findEntities(messages: WireMessage[]): WireEntity[] {
  const out: WireEntity[] = [];
  messages.forEach((message, messageIndex) => {
    for (const part of ['subject', 'body', 'signature'] as const) {
      const text = message[part]?.text;
      if (!text) continue;
      for (const { kind, pattern, format } of ENTITY_KINDS) {
        for (const match of text.matchAll(pattern)) {
          const unitStart = match.index;
          const unitEnd = unitStart + match[0].length;
          const span: WireSpan = {
            content_part: part,
            message_index: messageIndex,
            char_start: codePoints(text, unitStart),
            char_end: codePoints(text, unitEnd),
            utf16_byte_start: unitStart * 2,
            utf16_byte_end: unitEnd * 2,
          };
          const formatted = format(match[0]);
          out.push({
            id: (hashString(`${kind}:${formatted}`) >>> 0).toString(16).padStart(8, '0'),
            name: kind,
            kind,
            formatted_value: formatted,
            probability: kind === 'email_address' ? null : round(0.8 + (hashString(formatted) % 200) / 1000),
            span,
            spans: [span],
            capture_ids: [],
          });
        }
      }
    }
  });
  return out;
}

export interface WireLabelProperty {
  property_id: string;
  property_name: 'tone' | 'quality_of_service';
  value: number;
}

/** Tone and quality of service, each in [-10, 10]. */
export function labelProperties(text: string): WireLabelProperty[] {
  const sentiment = sentimentOf(text);
  const noise = (hashString(text) % 100) / 100;
  return [
    { property_id: '0000000000000001', property_name: 'tone', value: round(sentiment * 8 + noise * 2 - 1) },
    { property_id: '0000000000000002', property_name: 'quality_of_service', value: round(sentiment * 6 + noise * 4 - 2) },
  ];
}

/** Code points in `text` before UTF-16 offset `units`. */
function codePoints(text: string, units: number): number {
  let count = 0;
  for (let i = 0; i < units; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < units) i++;
    count++;
  }
  return count;
}

/** A 32-bit FNV-1a hash of a string. */
function round(value: number): number {
  return Math.round(value * 10000) / 10000;
}
