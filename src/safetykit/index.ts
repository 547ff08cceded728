/** Public surface of the SafetyKit pieces: sinks, requests, results, settings. */
export { dataWriter, DataWriter, type DataWriterOptions, type DataWriterStats, type DataWriterSummary, type DataRequestEvent, type DataResultEvent, type DataAcknowledgedEvent } from './data-writer.js';
export { ingestFile, type IngestFileOptions, type IngestFileSummary } from './ingest-file.js';
export type { IngestState } from './ingest-state.js';
export { importWriter, ImportWriter, type ImportWriterOptions, type ImportWriterStats, type ImportWriterSummary, type ImportEvent, type ImportPhase } from './import-writer.js';
export { importFile, type ImportFileOptions, type ImportFileStats, type ImportFileSummary } from './import-file.js';
export { InputChangedError, type ImportFileFormat } from './import-state.js';
export { importResults, ImportResultsStream, type ImportResultsOptions, type ImportResultsStats } from './results.js';
export {
  getRequestStatus,
  waitForRequest,
  updateSettings,
  type PollOptions,
  type RequestStatusOptions,
  type WaitForRequestOptions,
  type UpdateSettingsOptions,
} from './requests.js';
export { InvalidObjectError } from './errors.js';
export type { SafetykitOptions } from './config.js';
export type {
  DataObject,
  OutputObject,
  ObjectOutput,
  RequestState,
  RequestStatus,
  FieldSettings,
  NamespaceSchema,
  DataAddResponse,
  DataImportResponse,
  DataGetRequestAddOutput,
  DataGetRequestImportOutput,
  DataUpdateSettingsResponse,
} from './types.js';
