/** The one SafetyKit-specific error: an input object the API would refuse. */
import { InferenceStreamsError } from '../core/errors.js';

/** An object written to `dataWriter()` cannot be sent (no string `id`, not JSON, too large). `index` is 0-based. */
export class InvalidObjectError extends InferenceStreamsError {
  /** 0-based position of the object in the stream's input. */
  readonly index: number;
  constructor(index: number, problem: string) {
    super(`Object #${index} (0-based) cannot be sent: ${problem}`);
    this.index = index;
  }
}

/** The reason an input value is not a SafetyKit object, or undefined when it is one. */
export function objectProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'it is not a JSON object';
  const id = (value as { id?: unknown }).id;
  if (typeof id !== 'string' || id.length === 0) return 'it needs a non-empty string "id"';
  return undefined;
}
