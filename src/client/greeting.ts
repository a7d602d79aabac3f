// The first bytes of a plain TCP connection, before the server's `hello`. A rexecd
// speaks first (docs/protocol.md section 3), at once; a TLS server says nothing until the
// client sends its ClientHello, so a plain client of a TLS server would wait out the
// whole connect deadline in silence. This watch gives up early instead: when nothing
// has come within a short time, or as soon as the first bytes are a TLS record.
import type { Duplex } from 'node:stream';
import { RexecError } from '../errors.js';

/** How long a plain connection waits for the server's first bytes, by default. */
export const DEFAULT_HELLO_TIMEOUT_MS = 2000;

/**
 * No rexec greeting: the server was silent past the deadline (`reason` "silent"), or
 * answered with a TLS record ("tls"). Code CONNECT_FAILED: the server was not reached
 * as a rexecd.
 */
export class NoGreetingError extends RexecError {
  readonly reason: 'silent' | 'tls';

  constructor(target: string, reason: 'silent' | 'tls', waitedMs: number) {
    super(
      'CONNECT_FAILED',
      reason === 'tls'
        ? `${target} answered with TLS, not with a rexec hello: it serves TLS`
        : `${target} sent no rexec hello within ${waitedMs} ms (a TLS server says nothing until the client speaks)`,
    );
    this.name = 'NoGreetingError';
    this.reason = reason;
  }
}

// A TLS record starts with its content type (21 alert, 22 handshake) and the major
// version 3 (SSL 3.0 to TLS 1.3 all say 3).
const TLS_ALERT = 0x15;
const TLS_HANDSHAKE = 0x16;
const TLS_MAJOR = 0x03;

/** True when `bytes` begin like a TLS record. */
export function looksLikeTls(bytes: Buffer): boolean {
  return bytes.length >= 2 && (bytes[0] === TLS_ALERT || bytes[0] === TLS_HANDSHAKE) && bytes[1] === TLS_MAJOR;
}

/**
 * Watches `socket` until its first bytes: `fail` is called with a NoGreetingError when
 * none have come within `ms`, or when they look like TLS (the listener runs before the
 * frame decoder's). Returns a function that stops watching.
 */
export function watchGreeting(
  socket: Duplex,
  ms: number,
  target: string,
  fail: (error: NoGreetingError) => void,
): () => void {
  const onData = (chunk: Buffer): void => {
    stop();
    if (looksLikeTls(chunk)) fail(new NoGreetingError(target, 'tls', ms));
  };
  const timer = setTimeout(() => {
    socket.off('data', onData);
    fail(new NoGreetingError(target, 'silent', ms));
  }, ms);
  socket.prependOnceListener('data', onData);
  function stop(): void {
    clearTimeout(timer);
    socket.off('data', onData);
  }
  return stop;
}
