// `rexecd tls-init DIR`: a self-signed certificate and key for a server that has no CA,
// made by the openssl program (on every Linux box; no npm dependency, nothing bundled).
// An EC P-256 key; the names given become the subject alternative names that clients
// with --ca check. Clients without a CA trust it on first use or pin its fingerprint.
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fingerprintOfPem } from '../../common/fingerprint.js';
import { RexecError } from '../../errors.js';

/** Names in the certificate when none are given. */
export const DEFAULT_TLS_NAMES: readonly string[] = ['localhost', '127.0.0.1'];
/** How long a new certificate is valid, by default (a lab box's certificate should not lapse mid-term). */
export const DEFAULT_TLS_DAYS = 3650;

/** What tls-init made. */
export interface TlsInitResult {
  readonly certFile: string;
  readonly keyFile: string;
  readonly names: readonly string[];
  readonly fingerprint: string;
}

/** Writes DIR/cert.pem and DIR/key.pem (0600); refuses to replace them unless `force`. */
export async function tlsInit(
  dir: string,
  options: { readonly names?: readonly string[]; readonly days?: number; readonly force?: boolean } = {},
): Promise<TlsInitResult> {
  const names = options.names === undefined || options.names.length === 0 ? DEFAULT_TLS_NAMES : options.names;
  for (const name of names) {
    if (
      isIP(name) === 0 &&
      !/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(name)
    ) {
      throw new RexecError('CONFIG', `--name ${JSON.stringify(name)} is neither a host name nor an IP address`);
    }
  }
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (!options.force) {
    for (const file of [certFile, keyFile]) {
      if (await exists(file)) throw new RexecError('CONFIG', `${file} already exists (use --force to replace it)`);
    }
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const san = names.map((name) => (isIP(name) === 0 ? `DNS:${name}` : `IP:${name}`)).join(',');
  // Flags and their values in pairs, as on a command line.
  // prettier-ignore
  const args = [
    'req', '-x509', '-new', '-nodes',
    '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', keyFile, '-out', certFile,
    '-days', String(options.days ?? DEFAULT_TLS_DAYS),
    '-subj', `/CN=${names[0] as string}`,
    '-addext', `subjectAltName=${san}`,
    // A server certificate, not a CA: a client that trusts it with --ca trusts nothing else.
    '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature',
    '-addext', 'extendedKeyUsage=serverAuth',
  ];
  try {
    await promisify(execFile)('openssl', args, { timeout: 60_000 });
  } catch (error) {
    await rm(keyFile, { force: true });
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') {
      throw new RexecError(
        'CONFIG',
        'tls-init needs the openssl program (Debian: apt-get install openssl), or make a certificate and key yourself',
      );
    }
    throw new RexecError('CONFIG', `openssl failed: ${(failure.stderr ?? failure.message).trim()}`);
  }
  await chmod(keyFile, 0o600);
  await chmod(certFile, 0o644);
  return { certFile, keyFile, names, fingerprint: fingerprintOfPem(await readFile(certFile)) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
