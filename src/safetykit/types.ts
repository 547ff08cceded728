/** SafetyKit Data API wire shapes (seed 001 and API-NOTES), and what the library returns from them. */

/** An object to add or import: any JSON object with a non-empty string `id`. */
export interface DataObject {
  id: string;
  [field: string]: unknown;
}

/** `POST /v1/data/{namespace}` answer. */
export interface DataAddResponse {
  requestId: string;
  status: 'accepted';
}

/** `POST /v1/data/{namespace}/import` (or `…/requests/upload-url`) answer. */
export interface DataImportResponse {
  expires_at: string;
  objectKey: string;
  requestId: string;
  status: 'pending_upload';
  /** Pre-signed: its query string is a secret. */
  upload_url: string;
}

/** Where a request is. `uploading` only for imports; other values may appear in newer APIs. */
export type RequestState = 'queued' | 'uploading' | 'ingesting' | 'succeeded' | 'failed';

/** What SafetyKit decided for one object. */
export interface ObjectOutput {
  actions: unknown[];
  fields: Record<string, unknown>;
  labels: Array<{ label: string }>;
}

/** One result: an object's id, its output, and where to see it. */
export interface OutputObject {
  id: string;
  output: ObjectOutput;
  url: string;
  metadata?: Record<string, unknown>;
}

/** `GET …/requests/{requestId}` for an add request. */
export interface DataGetRequestAddOutput {
  data: OutputObject[];
  namespace: string;
  request_id: string;
  status: RequestState;
}

/** `GET …/requests/{requestId}` for an import. */
export interface DataGetRequestImportOutput {
  data_count: number;
  data_expires_at: string;
  data_url: string;
  namespace: string;
  request_id: string;
  status: RequestState;
}

/** `GET …/requests/{requestId}/results/download-url` (newer API); field names vary, so all are optional. */
export interface DataDownloadUrlResponse {
  download_url?: string;
  data_url?: string;
  url?: string;
  expires_at?: string;
  data_expires_at?: string;
  data_count?: number;
}

/** A request's status, the same shape for adds and imports. */
export interface RequestStatus {
  requestId: string;
  namespace: string;
  /** The server's status; anything but `succeeded`/`failed` means "not final yet". */
  status: RequestState | (string & {});
  /** Inline outputs (add requests, once succeeded). */
  data?: OutputObject[];
  /** Number of outputs at `dataUrl` (imports). */
  dataCount?: number;
  /** Pre-signed JSONL download of the outputs (imports, or an add whose inline answer was too large). */
  dataUrl?: string;
  dataExpiresAt?: string;
  /** Why the request failed, as the server says it. */
  reason?: string;
  /** True when the server refused the inline answer as too large (413) and `dataUrl` came from `…/results/download-url`. */
  tooLargeInline?: boolean;
}

/** One field's settings in a namespace schema. */
export interface FieldSettings {
  /** How SafetyKit reads the field, e.g. `text`, `image_url`, `url`. */
  content_type?: string;
  /** How the dashboard shows it, e.g. `title`, `description`. */
  display_hint?: string;
  /** Most characters or items kept from the field. */
  field_limit?: number;
  /** A namespace whose objects this field refers to by id. */
  namespace_ref?: string;
}

/** `PUT …/settings` body's `schema`: field name → settings. */
export type NamespaceSchema = Record<string, FieldSettings>;

/** `PUT …/settings` answer. */
export interface DataUpdateSettingsResponse {
  namespace: string;
  status: 'updated';
}
