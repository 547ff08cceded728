/**
 * Optional peer dependencies (database drivers, DuckDB for Parquet) are imported here, lazily, so
 * a JSONL-only install never loads them; a missing one fails with the command that installs it.
 */
import { ConfigError } from '../core/errors.js';

/**
 * `await import(name)`, or a ConfigError naming `option` and the `npm install` command when the
 * package is not installed. `purpose` says what needs it, e.g. `the Parquet destination`.
 */
export async function importOptional<T>(name: string, option: string, purpose: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      const packages = name.includes(' ') ? 'packages' : 'package';
      throw new ConfigError(option, `needs the optional ${packages} ${name} for ${purpose}: run \`npm install ${name}\``);
    }
    throw error;
  }
}
