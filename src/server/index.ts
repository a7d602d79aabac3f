// The server layer's public API.
export { createServer, RexecServer } from './server.js';
export type { ListenAddress } from './server.js';
export type { AuthSetting, ServerOptions } from './options.js';
export { DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS } from './tls-listener.js';
export type { TlsSetting } from './tls-listener.js';
export * as serverDefaults from './options.js';
export type { LogFields, ServerLogger } from './logger.js';
export { silentLogger } from './logger.js';
export { VERSION } from '../common/version.js';
export { createAuditLog, noAudit } from './audit.js';
export type { AuditEvent, AuditLog } from './audit.js';
export { DEFAULT_AUTH_GUARD } from './auth-guard.js';
export type { AuthGuardSettings } from './auth-guard.js';
export { addUser, checkNewUser, keyFileFor } from './policy/users-file.js';
export {
  accountEntry,
  checkPlan,
  createAccount,
  DEFAULT_LABS_DIR,
  planAccount,
  planCommands,
  quote,
} from './policy/lab-account.js';
export type { AccountPlan } from './policy/lab-account.js';
export { closeInheritedDescriptors } from './descriptors.js';
export { protectFromOomKiller, DAEMON_OOM_SCORE_ADJ, COMMAND_OOM_SCORE_ADJ } from './oom-score.js';
