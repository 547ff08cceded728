/** Public surface of the Reinfer pieces (re-exported by src/index.ts). */
export { predictDocuments, predictRawEmails, predictComments, type PredictOptions, type PredictRawEmailsOptions, type PredictCommentsOptions } from './predict.js';
export { predictInto, type PredictIntoOptions, type PredictIntoStats, type PredictIntoSummary } from './predict-into.js';
export type { PredictionColumn } from '../destinations/columns.js';
export { getValidation, type ValidationOptions } from './validation.js';
export {
  PredictStream,
  DEFAULT_BATCH_SIZE,
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_CONCURRENCY,
  type PredictStreamOptions,
  type ReinferStats,
} from './predict-stream.js';
export { InvalidDocumentError } from './validate-documents.js';
export type { ReinferConnectionOptions } from './options.js';
export type {
  ModelVersion,
  ReinferMessage,
  MessageText,
  ReinferDocument,
  RawEmail,
  RawEmailAttachment,
  RawEmailDocument,
  CommentInput,
  UserProperties,
  LabelRequest,
  ModelInfo,
  ParsedComment,
  Validation,
  ValidationLabel,
  Quality,
  Prediction,
  PredictionFailure,
  PredictionResult,
  PredictedLabel,
  PredictedEntity,
  EntitySpan,
  LabelProperty,
} from './types.js';
