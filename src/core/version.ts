import { createRequire } from 'node:module';

// Both src/core and dist/core sit two levels below package.json.
const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

/** This package's version, as sent in the User-Agent header. */
export const VERSION: string = pkg.version;
