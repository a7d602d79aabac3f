// The `rexec/tls` entry point: connecting over TLS (a socket factory for connect()) and
// checking a server's certificate: a CA, a pinned fingerprint, or trust on first use
// recorded in a known_hosts file.
export { tlsSocketFactory, TLS_MIN_VERSION } from './client/tls.js';
export type { FirstUse, TlsClientOptions } from './client/tls.js';
export { checkKnownHost, findKnownHost, knownHostName, recordKnownHost } from './client/known-hosts.js';
export type { KnownHost, KnownHostOutcome } from './client/known-hosts.js';
export { fingerprintOfDer, fingerprintOfPem, parseFingerprint } from './common/fingerprint.js';
