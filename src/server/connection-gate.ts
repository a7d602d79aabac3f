// The door of the listening socket: each new socket gets an admission slot (admission.ts)
// or is refused with TOO_MANY_CONNECTIONS naming the rule, audited in summary
// (refusals.ts), and destroyed as soon as that frame is written, so that refused sockets
// cannot pile up on the server.
import type { Socket } from 'node:net';
import { encodeFrameBuffer } from '../protocol/frame-encoder.js';
import { Admission, isRefusal, normalizeAddress } from './admission.js';
import type { AdmissionLimits, AdmissionRefusal, AdmissionTicket } from './admission.js';
import type { Refusals } from './refusals.js';

// Refused sockets that may be flushing their error frame at once; past it, a refused
// socket is destroyed without one.
const MAX_REFUSING = 64;

/**
 * The retry hint of a refusal for connections still authenticating (rexec extension,
 * docs/protocol.md section 8): those slots free as soon as handshakes end, so a burst of
 * honest clients from one address (a class behind one NAT, `xargs -P 50 rexec run`) gets
 * in by trying again. A full server (maxConnections) gives none: that can last.
 */
export const RETRY_AFTER_MS = 50;

/** Admits or refuses new sockets. */
export class ConnectionGate {
  readonly #admission: Admission;
  readonly #refusals: Refusals;
  #refusing = 0;

  constructor(limits: AdmissionLimits, refusals: Refusals) {
    this.#admission = new Admission(limits);
    this.#refusals = refusals;
  }

  /**
   * A connection about to get its hello (a TLS one after its handshake, with the ticket
   * it took before): its slot, or undefined when it was refused (and is being closed).
   */
  enter(socket: Socket, ticket?: AdmissionTicket): AdmissionTicket | undefined {
    const address = normalizeAddress(socket.remoteAddress);
    const admitted = ticket ?? this.#admission.admit(address);
    const refusal = isRefusal(admitted) ? admitted : admitted.open();
    if (refusal === undefined && !isRefusal(admitted)) return admitted;
    this.#refuse(socket, address, refusal as AdmissionRefusal);
    return undefined;
  }

  /** A TLS connection's first TCP byte: its unauthenticated slot, or undefined (destroyed). */
  enterHandshake(socket: Socket): AdmissionTicket | undefined {
    const address = normalizeAddress(socket.remoteAddress);
    const admitted = this.#admission.admit(address);
    if (!isRefusal(admitted)) return admitted;
    // No frame can be sent before TLS: the socket is closed.
    this.#refusals.connection(address, admitted);
    socket.destroy();
    return undefined;
  }

  #refuse(socket: Socket, address: string, refusal: AdmissionRefusal): void {
    this.#refusals.connection(address, refusal);
    if (this.#refusing >= MAX_REFUSING) {
      socket.destroy();
      return;
    }
    this.#refusing += 1;
    socket.once('close', () => {
      this.#refusing -= 1;
    });
    // Whatever it sends is read and dropped, so that the close sends FIN, not RST.
    socket.resume();
    const frame = {
      type: 'error',
      code: 'TOO_MANY_CONNECTIONS',
      message: refusal.message,
      ...(refusal.rule === 'maxConnections' ? {} : { retryMs: RETRY_AFTER_MS }),
    };
    socket.end(encodeFrameBuffer(frame), () => socket.destroy());
  }
}
