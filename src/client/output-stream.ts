// A command's stdout or stderr as a Readable of raw Buffers. When its reader falls
// behind, it stops the whole connection from reading (docs/protocol.md section 5): TCP then
// slows the server, which stops reading the process's pipes.
import { Readable } from 'node:stream';
import type { FrameConnection } from './connection.js';

/** The part of a connection an output stream needs: pausing and resuming its reads. */
export type ReadGate = Pick<FrameConnection, 'block' | 'unblock'>;

/** Output of one stream of one command; fed by the client, read by the caller. */
export class OutputStream extends Readable {
  readonly #gate: ReadGate;

  constructor(gate: ReadGate) {
    super();
    this.#gate = gate;
    // A reader that destroys the stream no longer holds the connection back.
    this.once('close', () => this.#gate.unblock(this));
  }

  /** Hands over one frame's body; output for a destroyed stream is dropped. */
  deliver(body: Buffer): void {
    if (this.destroyed) return;
    if (!this.push(body)) this.#gate.block(this);
  }

  /** No more output will come: the reader gets the end once it has read the rest. */
  finish(): void {
    if (!this.destroyed) this.push(null);
    // An ended stream is never asked to _read again, and nothing more arrives for it.
    this.#gate.unblock(this);
  }

  /** Resolves once the stream's reader, if it has one, has seen the end (or destroyed it). */
  whenRead(): Promise<void> {
    if (this.readableEnded || this.destroyed || !this.#hasReader()) return Promise.resolve();
    return new Promise((resolve) => {
      this.once('end', resolve);
      this.once('close', resolve);
    });
  }

  override _read(): void {
    this.#gate.unblock(this);
  }

  #hasReader(): boolean {
    return this.listenerCount('data') > 0 || this.listenerCount('readable') > 0;
  }
}
