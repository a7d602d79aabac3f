// A failed TLS handshake in words: what connect() says for a TLS error of the socket,
// whether a TLS factory made it or a plain client met a TLS server. Apart from tls.ts so
// that plain TCP clients never load the TLS code.
import { RexecError } from '../errors.js';

/**
 * The TLS error for a failure during or right after the handshake, in words; undefined
 * for errors that are not TLS's (refused, unreachable, ...).
 */
export function tlsFailure(host: string, port: number, error: unknown): RexecError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  const target = `${host}:${port}`;
  const detail = (error as Error | undefined)?.message ?? String(error);
  let message: string | undefined;
  if (NOT_TLS.has(code)) {
    message = `${target} does not speak TLS (is it a rexecd without TLS?)`;
  } else if (CLIENT_CERT_REFUSED.has(code)) {
    message = `${target} refused the TLS connection (${code}): it requires a client certificate that it trusts`;
  } else if (CERT_UNTRUSTED.has(code)) {
    message = `the TLS certificate of ${target} is not trusted: ${detail} (${code})`;
  } else if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    message = `TLS with ${target} failed: ${detail.replace(/^[0-9A-F]+:error:/, '')} (${code})`;
  }
  return message === undefined ? undefined : new RexecError('TLS', message, { cause: error });
}

// What a TLS client sees when the server answers in clear text (a plain rexecd's hello).
const NOT_TLS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_RECORD_LAYER_FAILURE',
]);

// Alerts of a server that wants a client certificate and got none, or one it does not trust.
const CLIENT_CERT_REFUSED = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR',
]);

// Node's codes for a server certificate that fails verification against the CAs.
const CERT_UNTRUSTED = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'CERT_CHAIN_TOO_LONG',
  'HOSTNAME_MISMATCH',
]);
