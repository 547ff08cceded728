/** `getValidation()`: a model version's validation statistics. */
import { ProtocolError } from '../core/errors.js';
import { endpointLabel, fetchValidation } from './client.js';
import { resolveConnection, resolveVersion, type ReinferConnectionOptions } from './options.js';
import type { ModelVersion, Validation } from './types.js';

/** Options of {@link getValidation}. */
export interface ValidationOptions extends ReinferConnectionOptions {
  /** An integer, `'live'`, `'staging'` or `'latest'` (the newest version with statistics). Default `'latest'`. */
  version?: ModelVersion | 'latest';
}

/** Fetch `GET …/labellers/{version}/validation` and return its `validation` object. */
export async function getValidation(options: ValidationOptions): Promise<Validation> {
  const connection = resolveConnection(options, resolveVersion(options?.version, true, 'latest'));
  const result = await fetchValidation(connection);
  const validation = result.data?.validation;
  if (!validation || typeof validation !== 'object') {
    throw new ProtocolError(endpointLabel('validation'), 'the answer has no "validation" object');
  }
  return validation;
}
