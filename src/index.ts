/** Weft's public embedding API. */

export type { LogLevel, ServerOptions } from './config/options.js';
export { DEFAULTS } from './config/options.js';
export { ConfigError, StartError } from './errors.js';
export { startServer, WeftNode, type WeftServer } from './server/server.js';
export { VERSION } from './version.js';
