/**
 * Wire answers → what the transforms emit: hierarchical names as arrays and as `'A > B'`,
 * camel-cased entities and label properties, one overall sentiment.
 */
import { splitLabelName } from './options.js';
import type { EntitySpan, LabelProperty, ModelInfo, ParsedComment, PredictedEntity, PredictedLabel, WireEntity, WireLabel, WireLabelProperty, WireSpan } from './types.js';

/** The prediction part of an output, before the input is attached. */
export interface PredictionParts {
  uid?: string;
  labels: PredictedLabel[];
  entities: PredictedEntity[];
  labelProperties: LabelProperty[];
  sentiment: number | null;
  model: ModelInfo | null;
  comment?: ParsedComment;
}

export function toLabel(label: WireLabel): PredictedLabel {
  const name = Array.isArray(label.name) ? label.name : splitLabelName(String(label.name));
  const out: PredictedLabel = { name, fullName: name.join(' > '), probability: label.probability };
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

export function toEntity(entity: WireEntity): PredictedEntity {
  const spans = entity.spans?.length ? entity.spans : entity.span ? [entity.span] : [];
  const out: PredictedEntity = {
    name: entity.name,
    kind: entity.kind,
    formattedValue: entity.formatted_value,
    probability: entity.probability ?? null,
    spans: spans.map(toSpan),
  };
  if (entity.id !== undefined) out.id = entity.id;
  if (entity.capture_ids !== undefined) out.captureIds = entity.capture_ids;
  return out;
}

export function toLabelProperty(property: WireLabelProperty): LabelProperty {
  return { id: property.property_id, name: property.property_name, value: property.value };
}

/** The answer's per-comment sentiment, else that of the likeliest label carrying one, else null. */
export function overallSentiment(explicit: number | null | undefined, labels: WireLabel[]): number | null {
  if (typeof explicit === 'number') return explicit;
  let best: WireLabel | undefined;
  for (const label of labels) if (typeof label.sentiment === 'number' && (!best || label.probability > best.probability)) best = label;
  return best?.sentiment ?? null;
}

export function toParts(
  labels: WireLabel[] | undefined,
  entities: WireEntity[] | undefined,
  properties: WireLabelProperty[] | undefined,
  sentiment: number | null | undefined,
  model: ModelInfo | null | undefined,
): PredictionParts {
  const wireLabels = labels ?? [];
  return {
    labels: wireLabels.map(toLabel),
    entities: (entities ?? []).map(toEntity),
    labelProperties: (properties ?? []).map(toLabelProperty),
    sentiment: overallSentiment(sentiment, wireLabels),
    model: model ?? null,
  };
}
