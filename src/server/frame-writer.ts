// Writes frames to one connection's socket: the prefix and header in one buffer, the
// body as it is (corked, so both leave in one writev, never copied). Says when the
// socket's queue is over the high-water mark so producers can pause (section 5).
import type { Duplex } from 'node:stream';
import { encodeFrame, encodePrefix } from '../protocol/frame-encoder.js';
import { MAX_BODY_LENGTH } from '../protocol/constants.js';

/** Output stream names, as frame types. */
export type OutputStream = 'stdout' | 'stderr';

/** One connection's frame sink. */
export class FrameWriter {
  readonly #socket: Duplex;
  readonly #highWaterMark: number;
  readonly #drainWaiters = new Set<() => void>();
  #closed = false;

  constructor(socket: Duplex, highWaterMark: number) {
    this.#socket = socket;
    this.#highWaterMark = highWaterMark;
    socket.on('drain', () => this.#drained());
    socket.once('close', () => {
      this.#closed = true;
      this.#drained();
    });
  }

  /** True once the socket is gone: further frames are dropped. */
  get closed(): boolean {
    return this.#closed || this.#socket.destroyed || !this.#socket.writable;
  }

  /** Bytes queued on the socket, not yet handed to the kernel. */
  get queuedBytes(): number {
    return this.#socket.writableLength;
  }

  /** True while more than the high-water mark is queued: producers should wait. */
  get congested(): boolean {
    return !this.closed && this.#socket.writableLength > this.#highWaterMark;
  }

  /** Sends a control frame (small header, usually no body). */
  send(header: object, body?: Buffer): void {
    if (this.closed) return;
    const [head, rest] = encodeFrame(header, body);
    if (rest.length === 0) {
      this.#socket.write(head);
      return;
    }
    this.#socket.cork();
    this.#socket.write(head);
    this.#socket.write(rest);
    this.#socket.uncork();
  }

  /**
   * Sends output with a header encoded once per request and stream (`headerBytes`):
   * per frame only the 8-byte prefix is new. Splits bodies over the frame limit.
   */
  sendOutput(headerBytes: Buffer, body: Buffer): void {
    if (this.closed) return;
    for (let offset = 0; offset < body.length; offset += MAX_BODY_LENGTH) {
      const part =
        offset === 0 && body.length <= MAX_BODY_LENGTH ? body : body.subarray(offset, offset + MAX_BODY_LENGTH);
      this.#socket.cork();
      this.#socket.write(encodePrefix(headerBytes.length, part.length));
      this.#socket.write(headerBytes);
      this.#socket.write(part);
      this.#socket.uncork();
    }
  }

  /** Calls `resume` once the queue has drained (or the socket closed). */
  whenDrained(resume: () => void): void {
    if (!this.congested) {
      resume();
      return;
    }
    this.#drainWaiters.add(resume);
  }

  /** Forgets a waiter (its producer is gone). */
  cancelDrain(resume: () => void): void {
    this.#drainWaiters.delete(resume);
  }

  #drained(): void {
    if (this.congested || this.#drainWaiters.size === 0) return;
    const waiters = [...this.#drainWaiters];
    this.#drainWaiters.clear();
    for (const resume of waiters) resume();
  }
}

/** The header bytes of an output frame, encoded once per request and stream. */
export function outputHeader(stream: OutputStream, id: number): Buffer {
  return Buffer.from(JSON.stringify({ type: stream, id }), 'utf8');
}
