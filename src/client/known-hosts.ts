// Trust on first use, like ssh's known_hosts: the first TLS connection to a host:port
// records its certificate's fingerprint in a file; later connections must present the
// same certificate. The caller names the file (the library never picks a path itself).
//
// The file: one `HOST:PORT FINGERPRINT` per line (`[v6addr]:PORT` for IPv6), `#`
// comments and blank lines ignored. New lines are appended, so concurrent first
// connections (a fan-out) at worst record the same line twice.
import { appendFile, chmod, mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname } from 'node:path';
import { RexecError } from '../errors.js';
import { parseFingerprint } from '../common/fingerprint.js';

/** A host's recorded fingerprint and where it is recorded. */
export interface KnownHost {
  readonly fingerprint: string;
  /** 1-based line number in the file. */
  readonly line: number;
}

/** What happened when a certificate was checked against the file. */
export type KnownHostOutcome = { readonly status: 'known' } | { readonly status: 'recorded' };

/**
 * The name a host:port is recorded under. DNS names are case-insensitive: they are
 * recorded in lower case (as ssh does), so that `LOCALHOST` and `localhost` share a line.
 */
export function knownHostName(host: string, port: number): string {
  if (host.includes(':')) return `[${host}]:${port}`;
  return `${isIP(host) === 0 ? host.toLowerCase() : host}:${port}`;
}

/** The recorded fingerprint of `name`, if any (the first line that names it). */
export async function findKnownHost(file: string, name: string): Promise<KnownHost | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RexecError('TLS', `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = (lines[index] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const [recordedName, recordedFingerprint] = line.split(/\s+/);
    // A line written by hand (or by an older rexec) may spell a DNS name in capitals.
    if (recordedName !== name && recordedName?.toLowerCase() !== name) continue;
    const fingerprint = parseFingerprint(recordedFingerprint ?? '');
    if (fingerprint === undefined) {
      throw new RexecError(
        'TLS',
        `${file}, line ${index + 1}: "${line}" is not "HOST:PORT sha256:FINGERPRINT": fix or delete that line`,
      );
    }
    return { fingerprint, line: index + 1 };
  }
  return undefined;
}

/** Appends `name fingerprint` to the file, creating it (0600, its directory 0700). */
export async function recordKnownHost(file: string, name: string, fingerprint: string): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await appendFile(file, `${name} ${fingerprint}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
  } catch (error) {
    throw new RexecError('TLS', `cannot record the certificate in ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Checks a server's certificate against the file: records it when the host is new,
 * accepts it when it is the one recorded, and throws TLS with what to do when it is not.
 */
export async function checkKnownHost(file: string, name: string, fingerprint: string): Promise<KnownHostOutcome> {
  const known = await findKnownHost(file, name);
  if (known === undefined) {
    await recordKnownHost(file, name, fingerprint);
    return { status: 'recorded' };
  }
  if (known.fingerprint === fingerprint) return { status: 'known' };
  throw knownHostChanged(file, name, known, fingerprint);
}

/** The TLS error for a certificate that is not the one recorded: which line, and what to do. */
export function knownHostChanged(file: string, name: string, known: KnownHost, fingerprint: string): RexecError {
  return new RexecError(
    'TLS',
    `the TLS certificate of ${name} has CHANGED since it was first seen: refusing to connect.\n` +
      `  recorded: ${known.fingerprint} (${file}, line ${known.line})\n` +
      `  offered:  ${fingerprint}\n` +
      '  Someone may be intercepting the connection, or the server has a new certificate.\n' +
      '  Check on the server: `rexecd tls-fingerprint CERT.pem` (rexecd also logs it at start).\n' +
      `  If the new one is right, delete line ${known.line} of ${file} and connect again.`,
  );
}
