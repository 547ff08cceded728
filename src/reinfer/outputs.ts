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

function toLabel(label: WireLabel): PredictedLabel {
  const name = Array.isArray(label.name) ? label.name : splitLabelName(String(label.name));
  const out: PredictedLabel = { name, fullName: fullNameOf(name), probability: label.probability };
  if (label.sentiment !== undefined) out.sentiment = label.sentiment;
  if (label.auto_thresholds !== undefined) out.autoThresholds = label.auto_thresholds;
  return out;
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
  const wireSpans = entity.spans?.length ? entity.spans : entity.span ? [entity.span] : [];
  const spans: EntitySpan[] = [];
  for (let i = 0; i < wireSpans.length; i++) spans.push(toSpan(wireSpans[i]));
  const out: PredictedEntity = {
    name: entity.name,
    kind: entity.kind,
    formattedValue: entity.formatted_value,
    probability: entity.probability ?? null,
    spans,
  };
  if (entity.id !== undefined) out.id = entity.id;
  if (entity.capture_ids !== undefined) out.captureIds = entity.capture_ids;
  return out;
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

function toLabels(labels: WireLabel[] | undefined): PredictedLabel[] {
  const out: PredictedLabel[] = [];
  if (labels) for (let i = 0; i < labels.length; i++) out.push(toLabel(labels[i]));
  return out;
}

function toEntities(entities: WireEntity[] | undefined): PredictedEntity[] {
  const out: PredictedEntity[] = [];
  if (entities) for (let i = 0; i < entities.length; i++) out.push(toEntity(entities[i]));
  return out;
}

function toLabelProperties(properties: WireLabelProperty[] | undefined): LabelProperty[] {
  const out: LabelProperty[] = [];
  if (properties) for (let i = 0; i < properties.length; i++) out.push(toLabelProperty(properties[i]));
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
