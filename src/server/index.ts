// The server layer's public API.
export { createServer, RexecServer } from './server.js';
export type { ListenAddress } from './server.js';
export type { AuthSetting, ServerOptions } from './options.js';
export * as serverDefaults from './options.js';
export type { LogFields, ServerLogger } from './logger.js';
export { silentLogger } from './logger.js';
export { VERSION } from '../common/version.js';
