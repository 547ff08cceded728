// Public surface of the Innerworks pieces (DESIGN.md's public API table).
export { inferenceResults, InferenceResultsStream, type InferenceResultsStats, type PageBoundary } from './results-stream.js';
export { exportInferenceResults, type ExportInferenceResultsOptions, type ExportStanding, type ExportSummary } from './export.js';
export type { InferenceResultsOptions } from './options.js';
export type { InferenceResult, InferenceBatch, Fingerprinting, Geolocation } from './types.js';
export { getInferenceBatch, INNERWORKS_DEFAULT_BASE_URL, type BatchQuery, type BatchResult, type InnerworksClientConfig } from './client.js';
export { planPartitions, MAX_PARTITIONS, type PartitionRange, type PlanOptions } from './partition-plan.js';
export { exportPartition, type ExportPartitionOptions, type PartitionOutcome } from './export-partition.js';
export type { PartitionPosition } from '../destinations/destination.js';
export type { ResultsAfter } from './results-after.js';
