/**
 * Wire answers → what the transforms emit: hierarchical names as arrays and as `'A > B'`,
 * camel-cased entities and label properties, one overall sentiment.
 *
 * This runs for every document (tens of thousands a second), so it builds each output object
 * once, with its final keys in their final order (no intermediate object, no spreading), loops
 * instead of chained array helpers, and shares the `'A > B'` strings of names it has seen.
 */
import { splitLabelName } from './options.js';
import type { EntitySpan, LabelProperty, ModelInfo, PredictedEntity, PredictedLabel, Prediction, WireEntity, WireLabel, WireLabelProperty, WireSpan } from './types.js';

/**
 * `'A > B'` strings of two-level names seen so far, by first then second part: a model has a
 * fixed set of labels, so each output reuses one string instead of joining a new one. Bounded
 * so that a server sending ever-new names cannot grow it without end.
 */
const fullNames = new Map<string, Map<string, string>>();
const MAX_CACHED_NAMES = 10_000;
let cachedNames = 0;

function fullNameOf(name: string[]): string {
  if (name.length === 1 && typeof name[0] === 'string') return name[0];
  if (name.length !== 2) return name.join(' > ');
  const [first, second] = name;
  let seconds = fullNames.get(first);
  const cached = seconds?.get(second);
  if (cached !== undefined) return cached;
  const joined = name.join(' > ');
  if (cachedNames < MAX_CACHED_NAMES && typeof first === 'string' && typeof second === 'string') {
    if (seconds === undefined) fullNames.set(first, (seconds = new Map()));
    seconds.set(second, joined);
    cachedNames++;
  }
  return joined;
}

/*
 * Why each optional key has its own literal below rather than `out.key = …` after the literal:
 * a key added to an object after its literal goes into a separate property store, one more
 * allocation per label and per entity. The profile of predictDocuments at the defaults
 * (benchmarks/reinfer-predict, `node --cpu-prof`) put the output objects at ~7 µs of ~50 µs of
 * CPU a document, most of it allocation and garbage collection; the key order is unchanged.
 */
function toLabel(label: WireLabel): PredictedLabel {
  const name = Array.isArray(label.name) ? label.name : splitLabelName(String(label.name));
  const fullName = fullNameOf(name);
  const { probability, sentiment, auto_thresholds: autoThresholds } = label;
  if (autoThresholds === undefined) {
    return sentiment === undefined ? { name, fullName, probability } : { name, fullName, probability, sentiment };
  }
  return sentiment === undefined ? { name, fullName, probability, autoThresholds } : { name, fullName, probability, sentiment, autoThresholds };
}

function toSpan(span: WireSpan): EntitySpan {
  return {
    contentPart: span.content_part,
    messageIndex: span.message_index,
    charStart: span.char_start,
    charEnd: span.char_end,
    utf16ByteStart: span.utf16_byte_start,
    utf16ByteEnd: span.utf16_byte_end,
  };
}

function toEntity(entity: WireEntity): PredictedEntity {
  const wireSpans = entity.spans;
  let spans: EntitySpan[];
  if (wireSpans?.length) {
    spans = new Array<EntitySpan>(wireSpans.length);
    for (let i = 0; i < wireSpans.length; i++) spans[i] = toSpan(wireSpans[i]);
  } else spans = entity.span ? [toSpan(entity.span)] : [];
  const { name, kind, formatted_value: formattedValue, id, capture_ids: captureIds } = entity;
  const probability = entity.probability ?? null;
  if (captureIds === undefined) {
    return id === undefined ? { name, kind, formattedValue, probability, spans } : { name, kind, formattedValue, probability, spans, id };
  }
  return id === undefined ? { name, kind, formattedValue, probability, spans, captureIds } : { name, kind, formattedValue, probability, spans, id, captureIds };
}

function toLabelProperty(property: WireLabelProperty): LabelProperty {
  return { id: property.property_id, name: property.property_name, value: property.value };
}

/** The answer's per-comment sentiment, else that of the likeliest label carrying one, else null. */
function overallSentiment(explicit: number | null | undefined, labels: WireLabel[] | undefined): number | null {
  if (typeof explicit === 'number') return explicit;
  if (!labels) return null;
  let best: WireLabel | undefined;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (typeof label.sentiment === 'number' && (!best || label.probability > best.probability)) best = label;
  }
  return best?.sentiment ?? null;
}

// Arrays of their final length (`push` onto `[]` reserves room for 16 or more elements).
function toLabels(labels: WireLabel[] | undefined): PredictedLabel[] {
  if (!labels?.length) return [];
  const out = new Array<PredictedLabel>(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = toLabel(labels[i]);
  return out;
}

function toEntities(entities: WireEntity[] | undefined): PredictedEntity[] {
  if (!entities?.length) return [];
  const out = new Array<PredictedEntity>(entities.length);
  for (let i = 0; i < entities.length; i++) out[i] = toEntity(entities[i]);
  return out;
}

function toLabelProperties(properties: WireLabelProperty[] | undefined): LabelProperty[] {
  if (!properties?.length) return [];
  const out = new Array<LabelProperty>(properties.length);
  for (let i = 0; i < properties.length; i++) out[i] = toLabelProperty(properties[i]);
  return out;
}

/** One output `{input, labels, entities, labelProperties, sentiment, model}` from one document's answer. */
export function toPrediction<Input>(
  input: Input,
  labels: WireLabel[] | undefined,
  entities: WireEntity[] | undefined,
  properties: WireLabelProperty[] | undefined,
  sentiment: number | null | undefined,
  model: ModelInfo | null | undefined,
): Prediction<Input> {
  return {
    input,
    labels: toLabels(labels),
    entities: toEntities(entities),
    labelProperties: toLabelProperties(properties),
    sentiment: overallSentiment(sentiment, labels),
    model: model ?? null,
  };
}

/** One `predictComments` output: as {@link toPrediction}, with the comment's `uid` after `input`. */
export function toCommentPrediction<Input>(
  input: Input,
  uid: string,
  labels: WireLabel[] | undefined,
  entities: WireEntity[] | undefined,
  properties: WireLabelProperty[] | undefined,
  sentiment: number | null | undefined,
  model: ModelInfo | null | undefined,
): Prediction<Input> {
  return {
    input,
    uid,
    labels: toLabels(labels),
    entities: toEntities(entities),
    labelProperties: toLabelProperties(properties),
    sentiment: overallSentiment(sentiment, labels),
    model: model ?? null,
  };
}
