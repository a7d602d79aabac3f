// rexec over TLS, client side: a socket factory for connect() that opens a TLS
// connection (1.2 at least) and checks the server before a single protocol byte is read
// or sent: against CAs with the usual host name check, against a pinned certificate
// fingerprint, or by trust on first use with a known_hosts file (known-hosts.ts).
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { nodeTls } from '../common/lazy-modules.js';
import type { TLSSocket } from 'node:tls';
import { RexecError } from '../errors.js';
import { fingerprintOfDer, parseFingerprint } from '../common/fingerprint.js';
import type { FactorySocket, SocketFactory } from './connect.js';
import { checkKnownHost, findKnownHost, knownHostName, knownHostChanged } from './known-hosts.js';
import { tlsFailure } from './tls-failure.js';

/** The oldest TLS version either side accepts. */
export const TLS_MIN_VERSION = 'TLSv1.2';

/** A host whose certificate was just recorded in the known_hosts file. */
export interface FirstUse {
  /** `host:port` as recorded. */
  readonly name: string;
  readonly fingerprint: string;
  readonly file: string;
}

/** How to check the server, and the client's own certificate if the server asks for one. */
export interface TlsClientOptions {
  /** CA certificates (PEM) to verify the server's chain with, plus the usual host name check. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Accept only a server certificate with this SHA-256 fingerprint ("sha256:AB:CD:..."). */
  readonly fingerprint?: string;
  /**
   * Trust on first use: the known_hosts file that records each host's certificate. Used
   * only when neither `ca` nor `fingerprint` is given.
   */
  readonly knownHostsFile?: string;
  /**
   * Called when a host's certificate is recorded for the first time (to tell the user):
   * once the server has authenticated, never for one that failed to.
   */
  readonly onFirstUse?: (event: FirstUse) => void;
  /** Client certificate (PEM), for servers that require one (mutual TLS); needs `key`. */
  readonly cert?: string | Buffer;
  /** The client certificate's private key (PEM). */
  readonly key?: string | Buffer;
  /** Name for SNI and the CA host name check; default: the host, unless it is an IP address. */
  readonly servername?: string;
}

/**
 * A socket factory for `connect({ socketFactory })` that speaks TLS. Throws TLS for
 * options that cannot work (no way to check the server, a malformed fingerprint, a
 * certificate without its key). The connection then fails with TLS when the handshake
 * fails or the server is not the one expected, and with CONNECT_FAILED when it cannot
 * be reached at all.
 */
export function tlsSocketFactory(options: TlsClientOptions): SocketFactory {
  const pin = options.fingerprint === undefined ? undefined : parseFingerprint(options.fingerprint);
  if (options.fingerprint !== undefined && pin === undefined) {
    throw new RexecError('TLS', `"${options.fingerprint}" is not a SHA-256 fingerprint ("sha256:" and 64 hex digits)`);
  }
  if (options.ca === undefined && pin === undefined && options.knownHostsFile === undefined) {
    throw new RexecError('TLS', 'nothing to check the server with: give a CA, a fingerprint or a known_hosts file');
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new RexecError('TLS', 'a client certificate needs its key, and a key its certificate');
  }
  return ({ host, port }, factoryOptions) => openTls(options, pin, host, port, factoryOptions?.signal);
}

function openTls(
  options: TlsClientOptions,
  pin: string | undefined,
  host: string,
  port: number,
  signal: AbortSignal | undefined,
): Promise<Duplex | FactorySocket> {
  return new Promise((resolve, reject) => {
    const servername = options.servername ?? (isIP(host) === 0 ? host : undefined);
    const socket = nodeTls().connect({
      host,
      port,
      ...(servername === undefined ? {} : { servername }),
      minVersion: TLS_MIN_VERSION,
      // Without CAs the certificate is checked against the pin or known_hosts below.
      rejectUnauthorized: options.ca !== undefined,
      ...(options.ca === undefined ? {} : { ca: options.ca as string | Buffer | Array<string | Buffer> }),
      ...(options.cert === undefined ? {} : { cert: options.cert, key: options.key }),
    });
    let settled = false;
    let firstUse: FirstUse | undefined;
    const finish = (error: unknown): void => {
      if (settled) return;
      settled = true;
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined && socket.destroyed) {
        error = new RexecError('CONNECTION_CLOSED', `${host}:${port} closed the connection during the TLS handshake`);
      }
      if (error === undefined) {
        socket.setNoDelay(true);
        const pending = firstUse;
        resolve(pending === undefined ? socket : { socket, onAuthenticated: () => recordFirstUse(options, pending) });
      } else {
        socket.destroy();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what failed, as it was
        reject(error);
      }
    };
    const onError = (error: Error): void =>
      finish(tlsFailure(host, port, error) ?? closedBeforeHandshake(host, port, error) ?? error);
    // connect()'s deadline has passed: it has failed already, the socket must go.
    const onAbort = (): void => finish(new RexecError('CONNECT_FAILED', `connecting to ${host}:${port} was abandoned`));
    socket.on('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    socket.once('secureConnect', () => {
      // Nothing is read before this resolves: the server's hello waits in the socket.
      verify(socket, options, pin, host, port).then((pending) => {
        firstUse = pending;
        finish(undefined);
      }, finish);
    });
  });
}

// The checks beyond what node:tls did itself (the CA chain and host name, when `ca` is set).
// A host new to the known_hosts file is only returned: it is recorded once the server has
// authenticated (a server without the key must not get its certificate trusted).
async function verify(
  socket: TLSSocket,
  options: TlsClientOptions,
  pin: string | undefined,
  host: string,
  port: number,
): Promise<FirstUse | undefined> {
  const certificate = socket.getPeerX509Certificate();
  if (certificate === undefined) throw new RexecError('TLS', `${host}:${port} sent no TLS certificate`);
  const fingerprint = fingerprintOfDer(certificate.raw);
  if (pin !== undefined) {
    if (fingerprint !== pin) {
      throw new RexecError(
        'TLS',
        `the TLS certificate of ${host}:${port} is ${fingerprint}, not the pinned ${pin}: refusing to connect`,
      );
    }
    return undefined;
  }
  if (options.ca !== undefined || options.knownHostsFile === undefined) return undefined;
  const name = knownHostName(host, port);
  const known = await findKnownHost(options.knownHostsFile, name);
  if (known === undefined) return { name, fingerprint, file: options.knownHostsFile };
  if (known.fingerprint !== fingerprint) throw knownHostChanged(options.knownHostsFile, name, known, fingerprint);
  return undefined;
}

// After the handshake: records the certificate, unless another connection has recorded
// this host meanwhile (then it must be the same certificate), and tells the user.
async function recordFirstUse(options: TlsClientOptions, event: FirstUse): Promise<void> {
  const outcome = await checkKnownHost(event.file, event.name, event.fingerprint);
  if (outcome.status === 'recorded') options.onFirstUse?.(event);
}

// How long to wait before trying again after a TLS server closed at once (connect.ts).
const CLOSED_RETRY_MS = 50;

// A server that closes the connection before the TLS handshake: a rexecd refuses that way
// while too many connections from the address are still authenticating (no frame can be
// sent before TLS), so it may be momentary: connect() tries again within its deadline.
function closedBeforeHandshake(host: string, port: number, error: Error): RexecError | undefined {
  if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') return undefined;
  return new RexecError(
    'CONNECT_FAILED',
    `${host}:${port} closed the connection before the TLS handshake, each time it was tried (a busy rexecd does so while too many connections from this address are still authenticating; a port that is not a TLS rexecd may too)`,
    { retryMs: CLOSED_RETRY_MS, cause: error },
  );
}
