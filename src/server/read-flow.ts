// Read flow control of one connection (docs/protocol.md section 5): decoded frames wait here
// for their turn, and the socket is read only while the server can take more. Reading
// pauses while the queue is full (in frames or in body bytes), while anyone holds it (a
// process that does not read its stdin, a put whose file is slower than the client),
// and while replies pile up unread (a client that sends but never reads), and resumes
// when none of these holds any longer, like the client's block/unblock set.
import type { Duplex } from 'node:stream';
import type { Frame } from '../protocol/frame.js';
import type { FrameWriter } from './frame-writer.js';
import { MAX_QUEUED_BYTES, MAX_QUEUED_FRAMES, REPLY_HARD_LIMIT } from './options.js';

/** The frames waiting to be handled, and whether the socket may be read. */
export class ReadFlow {
  readonly #stream: Duplex;
  readonly #writer: FrameWriter;
  readonly #queue: Frame[] = [];
  /** Body bytes of the queued frames (1 MiB each at most: the count alone is no bound). */
  #queuedBytes = 0;
  readonly #holders = new Set<object>();
  readonly #onHeld: (held: boolean) => void;
  #paused = false;
  #held = false;
  #waitingForReplies = false;
  readonly #repliesDrained = (): void => {
    this.#waitingForReplies = false;
    this.update();
  };

  /** `onHeld`: told when holds start and stop keeping the socket unread (peer-watch.ts). */
  constructor(stream: Duplex, writer: FrameWriter, onHeld: (held: boolean) => void = () => {}) {
    this.#stream = stream;
    this.#writer = writer;
    this.#onHeld = onHeld;
  }

  /** Frames waiting. */
  get length(): number {
    return this.#queue.length;
  }

  /** True while replies queued on the socket are over REPLY_HARD_LIMIT. */
  get repliesPiledUp(): boolean {
    return this.#writer.queuedBytes > REPLY_HARD_LIMIT;
  }

  /** Queues a decoded frame (pausing the socket if the queue is now full). */
  push(frame: Frame): void {
    this.#queue.push(frame);
    this.#queuedBytes += frame.body.length;
    this.update();
  }

  /** The next frame to handle, if any. Reading resumes at the next `update()`. */
  shift(): Frame | undefined {
    const frame = this.#queue.shift();
    if (frame !== undefined) this.#queuedBytes -= frame.body.length;
    return frame;
  }

  /** Stops reading until `release(holder)`; holding twice is holding once. */
  hold(holder: object): void {
    if (this.#holders.has(holder)) return;
    this.#holders.add(holder);
    this.update();
  }

  /** Withdraws a hold; reading resumes when nothing else stops it. */
  release(holder: object): void {
    if (this.#holders.delete(holder)) this.update();
  }

  /** A hold as a function that releases it (once, however often it is called). */
  holdUntilReleased(): () => void {
    const holder = {};
    this.hold(holder);
    return () => this.release(holder);
  }

  /** Drops everything waiting (the connection closed). */
  clear(): void {
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    this.#holders.clear();
  }

  /** Pauses or resumes the socket as the queue, the holds and the replies now say. */
  update(): void {
    const repliesPiledUp = this.repliesPiledUp;
    if (repliesPiledUp && !this.#waitingForReplies) {
      this.#waitingForReplies = true;
      this.#writer.whenDrained(this.#repliesDrained);
    }
    const pause =
      this.#holders.size > 0 ||
      this.#queue.length >= MAX_QUEUED_FRAMES ||
      this.#queuedBytes >= MAX_QUEUED_BYTES ||
      repliesPiledUp;
    if (pause && !this.#paused) this.#stream.pause();
    else if (!pause && this.#paused) this.#stream.resume();
    this.#paused = pause;
    const held = this.#holders.size > 0;
    if (held !== this.#held) {
      this.#held = held;
      this.#onHeld(held);
    }
  }
}
