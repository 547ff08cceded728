/**
 * Wire shapes of the Innerworks batched inference results API (seed 000). Every documented field
 * is typed; fields the vendor adds later are kept (index signatures), never dropped.
 */

/** Browser fingerprinting part of a result (fields present when available). */
export interface Fingerprinting {
  /** The unique browser fingerprint. */
  fingerprint?: string;
  /** Detected browser name, e.g. `Chrome`. */
  browser?: string;
  /** Detected operating system, e.g. `Windows`. */
  deviceOs?: string;
  /** User-provided social identifier. */
  socialId?: string;
  [field: string]: unknown;
}

/** Geolocation and VPN part of a result (fields present when available). */
export interface Geolocation {
  /** Whether a VPN was detected. */
  vpnIsEnabled?: boolean;
  /** How the VPN was detected. */
  vpnDetectionReasons?: string;
  /** Actual location name, e.g. `United States`. */
  trueGeoLocationName?: string;
  /** Two-letter country code of the actual location. */
  trueGeoLocationCode?: string;
  /** VPN provider (when a VPN is enabled). */
  vpnProvider?: string;
  /** Apparent location code when using a VPN. */
  vpnLocationCode?: string;
  /** US state code (when applicable). */
  stateUS?: string;
  /** The user's actual IP address (IPv4 or IPv6). */
  trueUserIpAddress?: string;
  /** The IP address from the request headers. */
  requestIpAddress?: string;
  [field: string]: unknown;
}

/** One inference result, as the API returns it. */
export interface InferenceResult {
  /** Unique identifier of the inference request. */
  requestId: string;
  /** Project identifier. */
  projectId: string;
  /** ISO 8601 time of the inference, e.g. `2024-01-01T10:00:00.000Z`. */
  timestamp: string;
  /** The detection results. */
  result: {
    fingerprinting?: Fingerprinting;
    geolocation?: Geolocation;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/** The body of `GET /api/v1/innerworks/inference/batch`. */
export interface InferenceBatch {
  /** The number of results requested. */
  batchSize: number;
  /** Results in chronological order; empty at the end of the data. */
  results: InferenceResult[];
  /** Opaque base64 position to pass back as `checkpoint` for the next page. */
  checkpoint?: string;
}
