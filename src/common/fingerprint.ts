// SHA-256 fingerprints of TLS certificates, as rexec prints, pins and records them:
// "sha256:" and the digest of the certificate's DER bytes as colon-separated upper-case
// hex, the form `openssl x509 -noout -fingerprint -sha256` prints after its "=".
import { createHash, X509Certificate } from 'node:crypto';

/** The prefix of every fingerprint rexec prints. */
export const FINGERPRINT_PREFIX = 'sha256:';

/** The fingerprint of a certificate given as its DER bytes. */
export function fingerprintOfDer(der: Uint8Array): string {
  return formatDigest(createHash('sha256').update(der).digest());
}

/** The fingerprint of the first certificate in PEM text; throws on text that holds none. */
export function fingerprintOfPem(pem: string | Buffer): string {
  return fingerprintOfDer(new X509Certificate(pem).raw);
}

/**
 * The canonical form of a fingerprint a person typed or pasted: "sha256:" optional,
 * any case, colons optional. Undefined when it is not 32 bytes of hex.
 */
export function parseFingerprint(text: string): string | undefined {
  const trimmed = text.trim();
  const body = trimmed.toLowerCase().startsWith(FINGERPRINT_PREFIX)
    ? trimmed.slice(FINGERPRINT_PREFIX.length)
    : trimmed;
  const hex = body.replaceAll(':', '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return undefined;
  return formatDigest(Buffer.from(hex, 'hex'));
}

function formatDigest(digest: Buffer): string {
  const hex = digest.toString('hex').toUpperCase();
  return FINGERPRINT_PREFIX + (hex.match(/../g) ?? []).join(':');
}
