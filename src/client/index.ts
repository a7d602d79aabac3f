// The client library's public API: connect, run commands, ping.
export { connect, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_HOST } from './connect.js';
export { DEFAULT_PORT, DEFAULT_USER } from '../protocol/constants.js';
export type { ConnectOptions, FactorySocket, SocketFactory } from './connect.js';
export { DEFAULT_HELLO_TIMEOUT_MS, NoGreetingError } from './greeting.js';
export { tlsSocketFactory, TLS_MIN_VERSION } from './tls.js';
export type { FirstUse, TlsClientOptions } from './tls.js';
export { checkKnownHost, findKnownHost, knownHostName, recordKnownHost } from './known-hosts.js';
export type { KnownHost, KnownHostOutcome } from './known-hosts.js';
export { fingerprintOfDer, fingerprintOfPem, parseFingerprint } from '../common/fingerprint.js';
export { RexecClient } from './client.js';
export type { ClientEvents, ServerHello } from './client.js';
export type { ExecOptions } from './exec-options.js';
export type { ExitResult, RemoteProcess } from './remote-process.js';
export type { GetOptions, PutOptions, PutSource, TransferResult } from './file-options.js';
export type { RemoteFile } from './file-transfer.js';
export { RexecError } from '../errors.js';
/** AUTH_FAILED during a lockout, with its `seconds`: not a wrong key. */
export { LockoutError } from './server-error.js';
export type { ErrorCode } from '../errors.js';
export type { SignalName } from '../protocol/constants.js';
