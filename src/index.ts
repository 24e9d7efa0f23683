/** Weft's public embedding API. */
export { VERSION } from './version.js';
export type { LogLevel, ServerOptions } from './server/options.js';
export { DEFAULTS } from './server/options.js';
export { startServer, type WeftServer, WeftNode } from './server/server.js';
