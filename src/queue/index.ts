// Scale-out on BullMQ (an optional peer dependency): enqueue an export's partitions, run workers, read the status.
export { enqueueExport, type EnqueueExportOptions, type EnqueuedExport } from './enqueue.js';
export { exportWorker, type ExportWorker, type ExportWorkerOptions, type WorkerEvent } from './worker.js';
export { exportStatus, type ExportState, type ExportStatus, type ExportStatusOptions, type JobTiming, type PartitionStatus } from './status.js';
export { listJobs, type ListJobsOptions, type QueuedJob } from './list-jobs.js';
export type { PartitionProgress } from './jobs.js';
export type { WorkerStatus } from './heartbeat.js';
export { enqueuePredictions, type EnqueuePredictionsOptions, type EnqueuedPredictions } from './enqueue-predictions.js';
export { readStatusDocument, type StatusDocument, type StatusDocumentOptions, type StatusListDocument } from './status-document.js';
export { serveStatus, type ServeStatusOptions, type StatusServer } from './status-server.js';
export { serveMetrics, type MetricsEndpoint, type MetricsEndpointOptions } from './metrics-endpoint.js';
