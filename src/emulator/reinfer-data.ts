/**
 * Generated data of the emulated Reinfer dataset: the comment store that `predict-comments`
 * reads by uid (derived from (seed, index), never held in memory), and validation statistics.
 */
import { hash32 } from './http-util.js';
import { TAXONOMY, type WireMessage } from './reinfer-model.js';

const SUBJECTS = ['Where is my order', 'Refund request', 'Invoice question', 'Cannot log in', 'Thanks!', 'Damaged parcel', 'Figures Request'];
const BODIES = [
  'Hi,\n\nMy order ORD-{n} never arrived and it is still missing. Please check.',
  'Hello,\n\nI would like a refund for order #{n}, the item was damaged.',
  'Dear team,\n\nCould you send me the invoice for {date}? Reply to billing.{n}@example.com.',
  'Hi,\n\nMy account is locked and I cannot reset my password.',
  'Thank you, the delivery on {date} was great. Excellent service!',
  'This is unacceptable: the parcel ORD-{n} arrived broken.',
  'Hi Bob,\n\nCould you send me the figures for today?',
];

/** The source of the seed's curl example, so that the example gets an answer. */
export const SEED_EXAMPLE_SOURCE = '18ba5ce699f8da1f';

/** Source ids of the store: 16 hex digits each, the first the seed example's. */
export function sourceIds(seed: number, sources: number): string[] {
  return Array.from({ length: sources }, (_, s) =>
    s === 0 ? SEED_EXAMPLE_SOURCE : `${hash32(seed, s, 1).toString(16).padStart(8, '0')}${hash32(seed, s, 2).toString(16).padStart(8, '0')}`,
  );
}

/** The uid of comment `index` (0-based) of a store with `sources` sources. */
export function commentUid(sources: string[], index: number): string {
  const source = sources[index % sources.length];
  return `${source}.${String(Math.floor(index / sources.length) + 1).padStart(4, '0')}`;
}

/** The comment for a uid, or undefined when the store has no such comment. */
export function storedComment(seed: number, sources: string[], perSource: number, uid: string): { messages: WireMessage[] } | undefined {
  const dot = uid.indexOf('.');
  const sourceIndex = sources.indexOf(uid.slice(0, dot));
  const number = Number(uid.slice(dot + 1));
  if (sourceIndex < 0 || !/^\d+$/.test(uid.slice(dot + 1)) || number < 1 || number > perSource) return undefined;
  const index = (number - 1) * sources.length + sourceIndex;
  const h = hash32(seed, index, 3);
  const n = String(10000 + (h % 90000));
  const date = new Date(Date.UTC(2025, 0, 1) + (h % 365) * 86_400_000).toISOString().slice(0, 10);
  const body = BODIES[h % BODIES.length].replace(/\{n\}/g, n).replace(/\{date\}/g, date);
  return {
    messages: [
      {
        body: { text: body },
        subject: { text: SUBJECTS[h % SUBJECTS.length] },
        from: `customer${h % 1000}@example.com`,
        to: ['support@company.com'],
        sent_at: new Date(Date.UTC(2025, 0, 1) + (h % 31_536_000) * 1000).toISOString(),
      },
    ],
  };
}

const QUALITIES = ['poor', 'average', 'good', 'excellent'] as const;

/** Validation statistics of a model version, deterministic per (seed, version). */
export function validationFor(seed: number, version: number): Record<string, unknown> {
  const h = (k: number) => hash32(seed, version, k) / 4294967296;
  const labels: Array<{ name: string; parts: string[] }> = TAXONOMY.map((parts) => ({ name: parts.join(' > '), parts: [...parts] }));
  const score = Math.round(40 + h(1) * 55);
  const quality = (x: number) => QUALITIES[Math.min(3, Math.floor(x * 4))];
  const balance = round(0.5 + h(2) * 0.5);
  const coverage = round(0.6 + h(3) * 0.4);
  return {
    version,
    labels,
    num_labels: labels.length,
    num_reviewed_comments: 500 + Math.floor(h(4) * 5000),
    num_amber_labels: Math.floor(h(5) * 3),
    num_red_labels: Math.floor(h(6) * 2),
    mean_average_precision_safe: round(0.6 + h(7) * 0.35),
    dataset_score: score,
    dataset_quality: quality(score / 100),
    balance,
    balance_quality: quality(balance),
    coverage,
    coverage_quality: quality(coverage),
    all_labels_quality: quality(h(8)),
    underperforming_labels_quality: quality(h(9)),
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
