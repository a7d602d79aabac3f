// One socket carrying frames: decodes what arrives, writes what is sent, pauses reading
// while any consumer says "stop", and reports its end exactly once. It knows nothing of
// requests; the handshake and then the client take its messages in turn.
import type { Duplex } from 'node:stream';
import { RexecError } from '../errors.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { encodeFrame } from '../protocol/frame-encoder.js';
import type { Frame } from '../protocol/frame.js';
import { parseServerMessage } from '../protocol/messages.js';
import type { ServerMessage } from '../protocol/messages.js';

/** How long `close()` waits for the server to close its side before dropping the socket. */
const CLOSE_GRACE_MS = 5000;

/** Who receives a connection's messages and its end. */
export interface ConnectionHandler {
  /** A decoded server message with its body (a view, valid as long as it is referenced). */
  onMessage(message: ServerMessage, body: Buffer): void;
  /** Called once when the socket has closed: the error that ended it, if any. */
  onClose(error: RexecError | undefined): void;
}

/** A framed connection over a connected socket (TCP, TLS or any Duplex). */
export class FrameConnection {
  readonly #socket: Duplex;
  readonly #decoder: FrameDecoder;
  readonly #blockers = new Set<object>();
  readonly #drainWaiters: Array<() => void> = [];
  #handler: ConnectionHandler;
  #failure: RexecError | undefined;
  #closed = false;
  #ending = false;
  #closeTimer: NodeJS.Timeout | undefined;
  readonly #closedPromise: Promise<void>;

  constructor(socket: Duplex, handler: ConnectionHandler) {
    this.#socket = socket;
    this.#handler = handler;
    this.#decoder = new FrameDecoder((frame) => this.#onFrame(frame));
    let markClosed!: () => void;
    this.#closedPromise = new Promise((resolve) => (markClosed = resolve));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#flushDrainWaiters());
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.#failure ??= new RexecError('CONNECTION_CLOSED', `connection broke: ${error.code ?? error.message}`, {
        cause: error,
      });
    });
    // A server's FIN while we still read counts as the end of the connection.
    socket.on('end', () => {
      if (!this.#ending) socket.end();
    });
    socket.on('close', () => {
      this.#closed = true;
      clearTimeout(this.#closeTimer);
      this.#blockers.clear();
      this.#flushDrainWaiters();
      markClosed();
      this.#handler.onClose(this.#failure);
    });
  }

  /** Hands further messages (already decoded ones included, in order) to another handler. */
  setHandler(handler: ConnectionHandler): void {
    this.#handler = handler;
  }

  /** True once the socket has closed or is closing. */
  get closed(): boolean {
    return this.#closed || this.#ending;
  }

  /**
   * Sends one frame: header and body written under one cork, the body never copied.
   * Returns false when the socket's buffer is full (wait with `onDrain`); frames sent
   * after the connection closed are dropped.
   */
  send(header: object, body?: Uint8Array): boolean {
    if (this.closed) return true;
    const [head, payload] = encodeFrame(header, body);
    this.#socket.cork();
    this.#socket.write(head);
    const ready = payload.length === 0 ? true : this.#socket.write(payload);
    this.#socket.uncork();
    return ready && !this.#socket.writableNeedDrain;
  }

  /** Calls `callback` once the socket's buffer has drained, or the connection closed. */
  onDrain(callback: () => void): void {
    if (this.closed || !this.#socket.writableNeedDrain) {
      queueMicrotask(callback);
      return;
    }
    this.#drainWaiters.push(callback);
  }

  /** Stops reading the socket until every blocker has called `unblock` (section 5). */
  block(blocker: object): void {
    if (this.#closed || this.#blockers.has(blocker)) return;
    this.#blockers.add(blocker);
    if (this.#blockers.size === 1) this.#socket.pause();
  }

  /** Withdraws a blocker; reading resumes when none is left. */
  unblock(blocker: object): void {
    if (!this.#blockers.delete(blocker)) return;
    if (this.#blockers.size === 0 && !this.#closed) this.#socket.resume();
  }

  /** Ends the connection cleanly (FIN); resolves once the socket has closed. */
  close(): Promise<void> {
    if (!this.#closed && !this.#ending) {
      this.#ending = true;
      this.#socket.end();
      // Keep reading so that the server's FIN (and any last frames) can arrive.
      this.#blockers.clear();
      this.#socket.resume();
      // A server that never closes its side must not keep us waiting.
      this.#closeTimer = setTimeout(() => this.#socket.destroy(), CLOSE_GRACE_MS);
      this.#closeTimer.unref();
    }
    return this.#closedPromise;
  }

  /** Ends the connection at once because of `error`, which becomes its reported cause. */
  fail(error: RexecError): void {
    this.#failure ??= error;
    if (!this.#closed) this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#failure !== undefined) return;
    try {
      this.#decoder.push(chunk);
    } catch (error) {
      if (error instanceof RexecError) {
        this.fail(error);
        return;
      }
      // Not the server's fault: a listener (ours or the caller's) threw while a frame was
      // handled. The stream cannot go on from a half-handled frame, and the error stays
      // the caller's to see, as any listener's would.
      this.fail(new RexecError('CONNECTION_CLOSED', 'a listener threw while handling server output', { cause: error }));
      throw error;
    }
  }

  #onFrame(frame: Frame): void {
    if (this.#failure !== undefined) return;
    const message = parseServerMessage(frame.header);
    // Section 2: unknown frame types are ignored.
    if (message !== undefined) this.#handler.onMessage(message, frame.body);
  }

  #flushDrainWaiters(): void {
    for (const waiter of this.#drainWaiters.splice(0)) waiter();
  }
}
