/** The options every SafetyKit piece shares, checked once before the first request. */
import { ConfigError } from '../core/errors.js';
import { resolveBaseUrl, resolveCommon, resolveSecret, type CommonOptions, type ResolvedCommon } from '../core/options.js';

export const SAFETYKIT_DEFAULT_BASE_URL = 'https://api.safetykit.com';

/** Connection and namespace options shared by every SafetyKit function and stream. */
export interface SafetykitOptions extends CommonOptions {
  /** API key, sent as `Authorization: Bearer <key>`. Default env `SAFETYKIT_API_KEY`. */
  apiKey?: string;
  /** API base URL. Default env `SAFETYKIT_BASE_URL`, else `https://api.safetykit.com`. */
  baseUrl?: string;
  /** The namespace (required): letters, digits, `.`, `_`, `-` or `~`. */
  namespace: string;
}

export interface SafetykitConfig extends ResolvedCommon {
  apiKey: string;
  baseUrl: string;
  namespace: string;
  /** `${baseUrl}/v1/data/${encoded namespace}`. */
  namespaceUrl: string;
}

const URL_SAFE = /^[A-Za-z0-9._~-]{1,256}$/;

/** Validate the shared options (throws `ConfigError` naming the option). */
export function resolveSafetykit(options: SafetykitOptions): SafetykitConfig {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object with at least a namespace');
  const namespace = options.namespace;
  if (typeof namespace !== 'string' || !URL_SAFE.test(namespace)) {
    throw new ConfigError('namespace', 'is required: 1 to 256 URL-safe characters (letters, digits, ".", "_", "-", "~")', namespace);
  }
  const common = resolveCommon(options);
  const baseUrl = resolveBaseUrl('baseUrl', options.baseUrl, 'SAFETYKIT_BASE_URL', SAFETYKIT_DEFAULT_BASE_URL);
  const apiKey = resolveSecret('apiKey', options.apiKey, 'SAFETYKIT_API_KEY');
  // Path-encoded even though it is URL-safe: the check may loosen, the encoding must not.
  return { ...common, apiKey, baseUrl, namespace, namespaceUrl: `${baseUrl}/v1/data/${encodeURIComponent(namespace)}` };
}
