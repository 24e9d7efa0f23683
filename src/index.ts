/** Weft's public embedding API. What tests need beyond it lives in internal.ts. */
export { VERSION } from './version.js';
export type { LogLevel, ServerOptions } from './server/options.js';
export { DEFAULTS } from './server/options.js';
