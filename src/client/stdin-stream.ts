// A command's stdin as a Writable: each write becomes `stdin` frames of at most 1 MiB
// (or the server's smaller `maxBody`),
// and its callback waits while the socket's buffer is full, so a fast writer is slowed
// by TCP instead of filling memory (PROTOCOL.md section 5). end() sends `eof: true`.
import { Writable } from 'node:stream';
import type { FrameConnection } from './connection.js';

/** The part of a connection a stdin stream needs: sending frames and waiting for drain. */
export type FrameSender = Pick<FrameConnection, 'send' | 'onDrain'>;

/** Input for one command; bytes written after the command ended are dropped. */
export class StdinStream extends Writable {
  readonly #id: number;
  readonly #sender: FrameSender;
  readonly #maxBody: number;

  constructor(id: number, sender: FrameSender, maxBody: number) {
    super();
    this.#id = id;
    this.#sender = sender;
    this.#maxBody = maxBody;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#sendFrom(chunk, 0, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#sender.send({ type: 'stdin', id: this.#id, eof: true });
    callback();
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
