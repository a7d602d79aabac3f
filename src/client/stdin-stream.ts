// A command's stdin as a Writable: each write becomes `stdin` frames of at most 1 MiB
// (or the server's smaller `maxBody`), and its callback waits while the socket's buffer
// is full, so a fast writer is slowed by TCP instead of filling memory (docs/protocol.md
// section 5), and, where the server acknowledges stdin, while the window is used up. end() sends `eof: true`. Nothing is sent before the command's `exec` (the
// `after` gate, for a command waiting for a slot): until then writes wait, as they do
// for a full socket.
import { Writable } from 'node:stream';
import type { FrameConnection } from './connection.js';

/** The part of a connection a stdin stream needs: sending frames and waiting for drain. */
export type FrameSender = Pick<FrameConnection, 'send' | 'onDrain'>;

/** Input for one command; bytes written after the command ended are dropped. */
export class StdinStream extends Writable {
  readonly #id: number;
  readonly #sender: FrameSender;
  readonly #maxBody: number;
  readonly #after: (action: () => void) => void;
  /** The server's stdin window when it acknowledges this command's stdin, else undefined. */
  readonly #window: number | undefined;
  /** Bytes sent and not yet acknowledged (with a window). */
  #inFlight = 0;
  /** The rest of a write, waiting for the server to acknowledge room in the window. */
  #waitingForRoom: (() => void) | undefined;

  /**
   * `after` runs an action once the command's `exec` has been sent (default: at once);
   * `window`: keep at most that many bytes unacknowledged (`hello.stdinWindow`, with
   * `exec.stdinAck`), so that the server never stops reading the connection for this
   * command and a signal sent after its stdin always gets through.
   */
  constructor(
    id: number,
    sender: FrameSender,
    maxBody: number,
    after: (action: () => void) => void = (action) => action(),
    window?: number,
  ) {
    super();
    this.#id = id;
    this.#sender = sender;
    this.#maxBody = maxBody;
    this.#after = after;
    this.#window = window;
  }

  /** The server's `stdin-ack`: its pipe took `bytes` more. */
  acknowledged(bytes: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - bytes);
    const resume = this.#waitingForRoom;
    this.#waitingForRoom = undefined;
    resume?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#after(() => this.#sendFrom(chunk, 0, callback));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#after(() => {
      this.#sender.send({ type: 'stdin', id: this.#id, eof: true });
      callback();
    });
  }

  #sendFrom(chunk: Buffer, offset: number, callback: (error?: Error | null) => void): void {
    while (offset < chunk.length && !this.destroyed) {
      let size = this.#maxBody;
      if (this.#window !== undefined) {
        size = Math.min(size, this.#window - this.#inFlight);
        if (size <= 0) {
          this.#waitingForRoom = () => this.#sendFrom(chunk, offset, callback);
          return;
        }
      }
      const piece = chunk.subarray(offset, offset + size);
      offset += piece.length;
      this.#inFlight += piece.length;
      if (!this.#sender.send({ type: 'stdin', id: this.#id }, piece)) {
        this.#sender.onDrain(() => this.#sendFrom(chunk, offset, callback));
        return;
      }
    }
    callback();
  }
}
