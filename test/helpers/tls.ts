// Certificates for TLS tests: server certificates made by `rexecd tls-init`'s code, and a
// small CA with a client certificate (openssl) for mutual TLS.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tlsInit } from '../../src/cli/rexecd/tls-init.js';
import { fingerprintOfPem } from '../../src/common/fingerprint.js';

const run = promisify(execFile);

/** A certificate with its key, as files and as text. */
export interface CertPair {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly fingerprint: string;
}

/** A temporary directory for certificates; remove() deletes it. */
export async function certDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-tls-')));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A self-signed server certificate from tls-init, for `names` (default localhost, 127.0.0.1). */
export async function serverCert(dir: string, names?: readonly string[]): Promise<CertPair> {
  const made = await tlsInit(dir, names === undefined ? {} : { names });
  return {
    certFile: made.certFile,
    keyFile: made.keyFile,
    cert: await readFile(made.certFile),
    key: await readFile(made.keyFile),
    fingerprint: made.fingerprint,
  };
}

/** A CA (its certificate signs client certificates). */
export async function makeCa(dir: string, name: string): Promise<CertPair> {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  // openssl's flags and their values in pairs, as on a command line.
  // prettier-ignore
  await run('openssl', [
    'req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign',
  ]);
  return pair(certFile, keyFile);
}

/** A client certificate for `name`, signed by `ca`. */
export async function clientCert(dir: string, ca: CertPair, name: string): Promise<CertPair> {
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  // prettier-ignore
  await run('openssl', [
    'req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', keyFile, '-out', csrFile, '-subj', `/CN=${name}`,
  ]);
  await writeFile(extFile, 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n');
  // prettier-ignore
  await run('openssl', [
    'x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial',
    '-out', certFile, '-days', '2', '-extfile', extFile,
  ]);
  return pair(certFile, keyFile);
}

async function pair(certFile: string, keyFile: string): Promise<CertPair> {
  const cert = await readFile(certFile);
  return { certFile, keyFile, cert, key: await readFile(keyFile), fingerprint: fingerprintOfPem(cert) };
}
