// The client library's public API (the package's main entry, `rexec`): connect, run
// commands, move files, ping. TLS and known_hosts helpers are the `rexec/tls` entry
// (src/tls.ts), so that plain TCP users never load them.
export { connect, DEFAULT_CONNECT_TIMEOUT_MS } from './connect.js';
export { DEFAULT_HOST, DEFAULT_PORT, DEFAULT_USER } from '../protocol/constants.js';
export type { ConnectOptions, FactorySocket, SocketFactory } from './connect.js';
export { DEFAULT_HELLO_TIMEOUT_MS, NoGreetingError } from './greeting.js';
export { RexecClient } from './client.js';
export type { ClientEvents, ServerHello } from './client.js';
export type { ExecOptions } from './exec-options.js';
export type { RemoteProcess } from './remote-process.js';
export type { ExitStatus } from '../protocol/messages.js';
export type { RunCommand, RunOptions, RunResult } from './run.js';
export { DEFAULT_MAX_BUFFER, OutputBudget, OutputCollector } from './output-collector.js';
export type { CollectedOutput } from './output-collector.js';
export type { GetOptions, PutOptions, PutSource, TransferResult } from './file-options.js';
export type { RemoteFile } from './get-call.js';
export { RexecError } from '../errors.js';
/** AUTH_FAILED during a lockout, with its `seconds`: not a wrong key. */
export { LockoutError } from './server-error.js';
export type { ErrorCode } from '../errors.js';
export type { SignalName } from '../protocol/constants.js';
