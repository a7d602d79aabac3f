// rexecd over TLS: a node:tls server whose connections, once the handshake is done,
// carry exactly the bytes of a TCP connection (docs/protocol.md section 1). What TLS adds
// stays here: TLS 1.2 at least, a deadline on the handshake, handshakes admitted as
// unauthenticated connections (the server decides), client certificates when asked for,
// and failed handshakes (a plaintext client, a scanner) closed at once without touching
// anyone else.
import type { Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { RexecError } from '../errors.js';
import { fingerprintOfPem } from '../common/fingerprint.js';
import type { AdmissionTicket } from './admission.js';
import type { ServerLogger } from './logger.js';

/** A TLS handshake must be done within this long (ms), by default. */
export const DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
/** The oldest TLS version rexecd accepts. */
export const TLS_MIN_VERSION = 'TLSv1.2';

/** rexecd's TLS settings (ServerOptions.tls). */
export interface TlsSetting {
  /** The server's certificate chain (PEM). */
  readonly cert: string | Buffer;
  /** Its private key (PEM). */
  readonly key: string | Buffer;
  /** When set, clients must present a certificate signed by one of these CAs (PEM). */
  readonly clientCa?: string | Buffer;
  /** Deadline of the handshake, ms (default 10000). */
  readonly handshakeTimeoutMs?: number;
}

/** TLS settings with the defaults filled in and the certificate's fingerprint. */
export interface ResolvedTlsSetting extends TlsSetting {
  readonly handshakeTimeoutMs: number;
  /** SHA-256 fingerprint of the server's certificate, as clients see it. */
  readonly fingerprint: string;
}

/** Checks TLS settings; throws CONFIG for a bad deadline or a certificate that cannot be read. */
export function resolveTlsSetting(setting: TlsSetting): ResolvedTlsSetting {
  const timeout = setting.handshakeTimeoutMs ?? DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS;
  if (!Number.isInteger(timeout) || timeout <= 0) {
    throw new RexecError('CONFIG', `option tls.handshakeTimeoutMs must be a positive integer, not ${String(timeout)}`);
  }
  let fingerprint: string;
  try {
    fingerprint = fingerprintOfPem(setting.cert);
  } catch (error) {
    throw new RexecError('CONFIG', `the TLS certificate is not a PEM certificate: ${(error as Error).message}`);
  }
  return { ...setting, handshakeTimeoutMs: timeout, fingerprint };
}

/** The listening side of TLS; hands each connection over once its handshake is done. */
export class TlsListener {
  readonly server: TlsServer;
  // TCP connections in their handshake, by remote address and port (a TLS socket and the
  // TCP socket under it share both; node:tls does not hand out the one for the other),
  // with the admission slot each took.
  readonly #handshaking = new Map<string, { readonly socket: Socket; readonly ticket: AdmissionTicket }>();

  /**
   * `admit` gives each new TCP connection its slot, or closes it and returns undefined
   * (it is then closed before any TLS); `onSecure` gets each connection that completed
   * its handshake, with that slot.
   */
  constructor(
    setting: ResolvedTlsSetting,
    admit: (socket: Socket) => AdmissionTicket | undefined,
    logger: ServerLogger,
    onSecure: (socket: TLSSocket, ticket: AdmissionTicket | undefined) => void,
  ) {
    try {
      this.server = createTlsServer(
        {
          cert: setting.cert,
          key: setting.key,
          minVersion: TLS_MIN_VERSION,
          handshakeTimeout: setting.handshakeTimeoutMs,
          ...(setting.clientCa === undefined
            ? {}
            : { ca: setting.clientCa, requestCert: true, rejectUnauthorized: true }),
          noDelay: true,
        },
        (socket) => {
          const peer = peerOf(socket);
          const ticket = this.#handshaking.get(peer)?.ticket;
          this.#handshaking.delete(peer);
          onSecure(socket, ticket);
        },
      );
    } catch (error) {
      // node:tls reads the certificate and key here: a mismatch or a bad PEM ends up here.
      throw new RexecError('CONFIG', `cannot use the TLS certificate and key: ${(error as Error).message}`);
    }
    // Raw TCP connections, before TLS: this listener runs before node:tls wraps them.
    this.server.prependListener('connection', (socket: Socket) => {
      socket.on('error', () => {});
      const ticket = admit(socket);
      if (ticket === undefined) {
        socket.destroy();
        return;
      }
      const peer = peerOf(socket);
      this.#handshaking.set(peer, { socket, ticket });
      socket.once('close', () => {
        if (this.#handshaking.get(peer)?.socket !== socket) return;
        this.#handshaking.delete(peer);
        ticket.release();
      });
    });
    // A failed or timed-out handshake (plaintext, a scanner, a client that refuses our
    // certificate, a missing client certificate): close that socket, nothing else.
    this.server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
      logger.debug(
        { remote: `${socket.remoteAddress}:${socket.remotePort}`, err: error.code ?? error.message },
        'TLS handshake failed',
      );
      socket.destroy();
    });
  }

  /** TCP connections whose handshake is not done yet. */
  get handshakes(): number {
    return this.#handshaking.size;
  }

  /** Closes every connection still in its handshake (on shutdown). */
  destroyHandshakes(): void {
    for (const { socket, ticket } of this.#handshaking.values()) {
      socket.destroy();
      ticket.release();
    }
    this.#handshaking.clear();
  }
}

function peerOf(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
