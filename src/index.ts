/** Weft's public embedding API. */

export { ConfigError, StartError } from './errors.js';
export type { LogLevel, ServerOptions } from './server/options.js';
export { DEFAULTS } from './server/options.js';
export { startServer, WeftNode, type WeftServer } from './server/server.js';
export { VERSION } from './version.js';
