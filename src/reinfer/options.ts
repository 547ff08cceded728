/**
 * Options of the Reinfer pieces and their validation: everything is checked before the first
 * request, and a bad value throws `ConfigError` naming the option.
 */
import { ConfigError } from '../core/errors.js';
import { checkLabels } from '../core/published-limits.js';
import { formatPath } from '../core/shape.js';
import { resolveBaseUrl, resolveCommon, resolveSecret, stringOption, type CommonOptions, type ResolvedCommon } from '../core/options.js';
import type { LabelRequest, ModelVersion } from './types.js';

/** Default whole-request timeout, as the vendor's own CLI: 240 s (large batches take a while). */
export const REINFER_TIMEOUT_MS = 240_000;

/** How to reach one model of one dataset. */
export interface ReinferConnectionOptions extends CommonOptions {
  /** Tenant API endpoint, e.g. `https://acme.reinfer.io`. Default env `REINFER_ENDPOINT`. Alias: `baseUrl`. */
  endpoint?: string;
  /** Same as `endpoint` (the name the other pieces of this library use). */
  baseUrl?: string;
  /** API token, sent as `Authorization: Bearer`. Default env `REINFER_TOKEN`. */
  token?: string;
  /** Project name (required). */
  project: string;
  /** Dataset name (required). */
  dataset: string;
  /** Whole-request timeout in ms. Default 240 000 (like the vendor's CLI). */
  timeoutMs?: number;
}

/** A resolved connection: base URL, token, path prefix and shared options. */
export interface ReinferConnection {
  baseUrl: string;
  token: string;
  project: string;
  dataset: string;
  /** The version as it goes in the path. */
  version: string;
  common: ResolvedCommon;
}

/** Validate connection options; `version` is checked by the caller (validation also allows `latest`). */
export function resolveConnection(options: ReinferConnectionOptions, version: string): ReinferConnection {
  if (!options || typeof options !== 'object') throw new ConfigError('options', 'must be an object with project and dataset');
  if (options.endpoint !== undefined && options.baseUrl !== undefined && options.endpoint !== options.baseUrl) {
    throw new ConfigError('endpoint', 'and baseUrl are the same option; pass only one');
  }
  const optionName = options.baseUrl !== undefined ? 'baseUrl' : 'endpoint';
  const raw = options.endpoint ?? options.baseUrl;
  const baseUrl = resolveBaseUrl(optionName, raw, 'REINFER_ENDPOINT', '');
  return {
    baseUrl,
    token: resolveSecret('token', options.token, 'REINFER_TOKEN'),
    project: stringOption('project', options.project, true),
    dataset: stringOption('dataset', options.dataset, true),
    version,
    common: resolveCommon(options, REINFER_TIMEOUT_MS),
  };
}

/** A predict version: a non-negative integer, `live` or `staging`. Default `live`. */
export function resolveVersion(value: unknown, allowLatest = false, fallback = 'live'): string {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && /^\d+$/.test(value)) return value;
  if (value === 'live' || value === 'staging' || (allowLatest && value === 'latest')) return value;
  throw new ConfigError('version', `must be an integer, "live" or "staging"${allowLatest ? ' or "latest"' : ''}`, value);
}

/** `threshold`: 0..1 or `'auto'`; undefined leaves the server's default (0.25). */
export function resolveThreshold(value: unknown): number | 'auto' | undefined {
  if (value === undefined || value === 'auto') return value;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new ConfigError('threshold', 'must be a number from 0 to 1, or "auto"', value);
  }
  return value;
}

/**
 * Wire form of `labels`: names as arrays (`'A > B'` is split), then checked against the
 * published limits (at most 4096 labels; a name of 1..64 parts of 1..64 characters; thresholds
 * 0..1). A breach is a `ConfigError` naming the entry, e.g. `labels[2].name[0]`.
 */
export function resolveLabels(value: unknown): Array<{ name: string[]; threshold?: number }> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new ConfigError('labels', "must be an array of {name: string[] | 'Parent > Child', threshold?}", value);
  const wire = value.map((label: LabelRequest | null, i) => {
    if (typeof label !== 'object' || label === null || Array.isArray(label)) {
      throw new ConfigError(`labels[${i}]`, "must be an object {name: string[] | 'Parent > Child', threshold?}", label);
    }
    const raw = label.name;
    if (typeof raw !== 'string' && !Array.isArray(raw)) {
      throw new ConfigError(`labels[${i}].name`, "must be a non-empty array of strings or a 'Parent > Child' string", raw);
    }
    const name = typeof raw === 'string' ? splitLabelName(raw) : raw;
    return label.threshold === undefined ? { name } : { name, threshold: label.threshold };
  });
  const found = checkLabels(wire);
  if (found !== undefined) throw new ConfigError(formatPath(found.path, 'labels'), found.message);
  // The same label twice would be sent twice, with two thresholds that contradict each other.
  const seen = new Map<string, number>();
  wire.forEach(({ name }, i) => {
    const key = JSON.stringify(name);
    const first = seen.get(key);
    if (first !== undefined) throw new ConfigError(`labels[${i}]`, `names the same label as labels[${first}] ("${name.join(' > ')}"); give each label once`);
    seen.set(key, i);
  });
  return wire;
}

/** `'Parent > Child'` → `['Parent', 'Child']`. */
export function splitLabelName(name: string): string[] {
  return name.split('>').map((part) => part.trim()).filter((part) => part.length > 0);
}

export type { ModelVersion };
