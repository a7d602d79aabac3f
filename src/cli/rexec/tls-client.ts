// The client's TLS settings (flags and config file, as file paths) turned into the client
// library's TLS socket factory: files read, trust on first use with the known_hosts file
// unless a CA or a fingerprint says whom to trust, first uses told to the user.
import { readFile } from 'node:fs/promises';
import { tlsSocketFactory } from '../../client/tls.js';
import type { SocketFactory } from '../../client/index.js';
import type { FirstUse } from '../../client/tls.js';
import { RexecError } from '../../errors.js';
import type { TlsSettings } from './connection-options.js';
// Loaded on demand: see core.ts for why this import is here.
import './core.js';

/** Reads the files and makes the factory; `notice` gets each line to tell the user. Throws CONFIG or TLS. */
export async function tlsFactoryFor(tls: TlsSettings, notice: (line: string) => void): Promise<SocketFactory> {
  const [ca, cert, key] = await Promise.all([
    readPem(tls.ca, '--ca'),
    readPem(tls.cert, '--tls-cert'),
    readPem(tls.key, '--tls-key'),
  ]);
  const trustOnFirstUse = ca === undefined && tls.fingerprint === undefined;
  return tlsSocketFactory({
    ...(ca === undefined ? {} : { ca }),
    ...(tls.fingerprint === undefined ? {} : { fingerprint: tls.fingerprint }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(trustOnFirstUse
      ? { knownHostsFile: tls.knownHostsFile, onFirstUse: (event: FirstUse) => notice(firstUseNotice(event)) }
      : {}),
  });
}

/** What the user is told when a host's certificate is recorded for the first time. */
export function firstUseNotice(event: FirstUse): string {
  return (
    `first TLS connection to ${event.name}: its certificate is ${event.fingerprint}\n` +
    `  recorded in ${event.file}; later connections must present the same certificate.\n` +
    "  Compare it with `rexecd tls-fingerprint CERT.pem` (or rexecd's start-up log) on the server."
  );
}

async function readPem(file: string | undefined, flag: string): Promise<Buffer | undefined> {
  if (file === undefined) return undefined;
  try {
    return await readFile(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new RexecError('CONFIG', `${flag} ${file}: ${reason}`);
  }
}
