// A command's stdin as a Writable: each write becomes `stdin` frames of at most 1 MiB
// (or the server's smaller `maxBody`), and its callback waits while the socket's buffer
// is full, so a fast writer is slowed by TCP instead of filling memory (PROTOCOL.md
// section 5). end() sends `eof: true`. Nothing is sent before the command's `exec` (the
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

  /** `after` runs an action once the command's `exec` has been sent (default: at once). */
  constructor(id: number, sender: FrameSender, maxBody: number, after: (action: () => void) => void = (action) => action()) {
    super();
    this.#id = id;
    this.#sender = sender;
    this.#maxBody = maxBody;
    this.#after = after;
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
      const piece = chunk.subarray(offset, offset + this.#maxBody);
      offset += piece.length;
      if (!this.#sender.send({ type: 'stdin', id: this.#id }, piece)) {
        this.#sender.onDrain(() => this.#sendFrom(chunk, offset, callback));
        return;
      }
    }
    callback();
  }
}
