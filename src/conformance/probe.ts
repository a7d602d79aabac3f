// A black-box client connection for server checks: it sends exactly the bytes a check
// gives, records every frame the server sends, and waits for frames or the close with
// a deadline. Frames can be taken out of order, so checks can look for one reply
// among interleaved ones.
import { connect, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { RexecError } from '../errors.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { encodeFrameBuffer } from '../protocol/frame-encoder.js';
import type { FrameHeader } from '../protocol/frame.js';
import { CheckFailure } from './check.js';
import { delay } from './deadline.js';

/** Where a server listens. */
export interface Target {
  readonly host: string;
  readonly port: number;
}

/** A frame the server sent; `size` is its body length even when the body was not kept. */
export interface ReceivedFrame {
  readonly header: FrameHeader;
  readonly body: Buffer;
  readonly size: number;
}

/** Which frame a wait is for: its type and/or its request id. */
export interface FrameMatch {
  readonly type?: string;
  readonly id?: number;
}

const EMPTY = Buffer.alloc(0);

/** One connection to the server under test (a socket, or any Duplex). */
export class Probe {
  readonly socket: Duplex;
  /** Every frame received, in order. */
  readonly frames: ReceivedFrame[] = [];
  readonly #taken = new Set<number>();
  /** Per request id, the number of frames received when its last exec was sent. */
  readonly #execMarks = new Map<number, number>();
  readonly #waiters = new Set<() => void>();
  #keepOutput = true;
  #closed = false;
  #bytes = 0;
  #decodeError: { error: RexecError; afterByte: number } | undefined;

  private constructor(socket: Duplex) {
    this.socket = socket;
    const decoder = new FrameDecoder((frame) => {
      const output = frame.header.type === 'stdout' || frame.header.type === 'stderr';
      const body = output && !this.#keepOutput ? EMPTY : frame.body;
      this.frames.push({ header: frame.header, body, size: frame.body.length });
      this.#wake();
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.#decodeError !== undefined) return;
      const before = this.#bytes;
      this.#bytes += chunk.length;
      try {
        decoder.push(chunk);
      } catch (error) {
        const rexecError = error instanceof RexecError ? error : new RexecError('PROTOCOL', String(error));
        this.#decodeError = { error: rexecError, afterByte: before };
        this.#wake();
      }
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  /** Connects within `deadlineMs`; rejects with CONNECT_FAILED. */
  static connect(target: Target, deadlineMs: number): Promise<Probe> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: target.host, port: target.port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new RexecError('CONNECT_FAILED', `cannot connect to ${target.host}:${target.port} within ${deadlineMs} ms`),
        );
      }, deadlineMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new Probe(socket));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new RexecError(
            'CONNECT_FAILED',
            `cannot connect to ${target.host}:${target.port} (${error.code ?? error.message})`,
            {
              cause: error,
            },
          ),
        );
      });
    });
  }

  /** A probe over a stream that is already connected (an in-memory pair, a TLS socket). */
  static over(stream: Duplex): Probe {
    return new Probe(stream);
  }

  /** True once the connection has closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes received so far. */
  get bytesReceived(): number {
    return this.#bytes;
  }

  /** Stops keeping stdout/stderr bodies (their sizes are still recorded). */
  discardOutput(): void {
    this.#keepOutput = false;
  }

  /** Sends one well-formed frame. */
  send(header: object, body?: Uint8Array): void {
    const { type, id } = header as { type?: unknown; id?: unknown };
    if (type === 'exec' && typeof id === 'number') this.#execMarks.set(id, this.frames.length);
    this.write(encodeFrameBuffer(header, body));
  }

  /** Sends raw bytes. */
  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Sends bytes one per write, with a pause after each so that they arrive apart. */
  async trickle(bytes: Buffer, pauseMs = 1): Promise<void> {
    for (let i = 0; i < bytes.length; i += 1) {
      if (this.socket.destroyed) return;
      this.socket.write(bytes.subarray(i, i + 1));
      await delay(pauseMs);
    }
  }

  /** The first frame not taken yet that matches; it is then taken. */
  next(match: FrameMatch, deadlineMs: number): Promise<ReceivedFrame> {
    return this.until(() => this.#take(match), describe(match), deadlineMs);
  }

  /** Like next(), but resolves undefined instead of failing when nothing came. */
  async maybeNext(match: FrameMatch, deadlineMs: number): Promise<ReceivedFrame | undefined> {
    try {
      return await this.next(match, deadlineMs);
    } catch (error) {
      if (error instanceof CheckFailure) return undefined;
      throw error;
    }
  }

  /** Frames of request `id` received since its last exec was sent (ids can be reused). */
  framesOf(id: number): ReceivedFrame[] {
    return this.frames.slice(this.#execMarks.get(id) ?? 0).filter((frame) => frame.header['id'] === id);
  }

  /** Frames matching `match` received so far (taken or not). */
  received(match: FrameMatch): ReceivedFrame[] {
    return this.frames.filter((frame) => matches(frame, match));
  }

  /** Resolves once the server has closed the connection. */
  waitClosed(deadlineMs: number): Promise<void> {
    return this.until(
      () => (this.#closed ? true : undefined),
      'close of the connection by the server',
      deadlineMs,
      true,
    ).then(() => undefined);
  }

  /** Stops reading from the socket (the server's writes back up). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Closes our side cleanly (FIN). */
  end(): void {
    this.socket.end();
  }

  /** Closes with a reset (RST), as a client that vanishes. */
  reset(): void {
    if (this.socket.destroyed) return;
    if (this.socket instanceof Socket) this.socket.resetAndDestroy();
    else this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #take(match: FrameMatch): ReceivedFrame | undefined {
    for (let i = 0; i < this.frames.length; i += 1) {
      const frame = this.frames[i] as ReceivedFrame;
      if (!this.#taken.has(i) && matches(frame, match)) {
        this.#taken.add(i);
        return frame;
      }
    }
    return undefined;
  }

  /**
   * Resolves with the first value `check` returns other than undefined, re-checked as
   * frames arrive; fails at the deadline, on a close (unless `closeIsOk`), or when the
   * server's bytes stop being a valid frame stream.
   */
  async until<T>(check: () => T | undefined, what: string, deadlineMs: number, closeIsOk = false): Promise<T> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const found = check();
      if (found !== undefined) return found;
      if (this.#decodeError !== undefined) {
        const { error, afterByte } = this.#decodeError;
        throw new CheckFailure(
          `waiting for ${what}, the server sent bytes that are not a valid frame stream ` +
            `(${error.code}: ${error.message}; in the bytes after stream offset ${afterByte})`,
        );
      }
      if (this.#closed && !closeIsOk) throw new CheckFailure(`the server closed the connection; expected ${what}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new CheckFailure(`no ${what} within ${deadlineMs} ms`);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, remaining);
        this.#waiters.add(done);
      });
    }
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

function matches(frame: ReceivedFrame, match: FrameMatch): boolean {
  return (
    (match.type === undefined || frame.header.type === match.type) &&
    (match.id === undefined || frame.header['id'] === match.id)
  );
}

function describe(match: FrameMatch): string {
  const type = match.type === undefined ? 'frame' : `"${match.type}" frame`;
  return match.id === undefined ? type : `${type} for id ${match.id}`;
}
