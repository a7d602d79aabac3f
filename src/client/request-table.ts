// The requests of one connection: their ids, the ones sent and not yet ended, and the
// ones waiting for a slot. A server runs at most `hello.limits.maxConcurrent` requests
// per connection (commands and file transfers together, docs/protocol.md section 9) and answers
// BUSY past that; the client sends no more than that at once and keeps the rest here,
// in order, sending each as a running one ends. The queue holds only what this
// connection's caller asked for.
import type { RexecError } from '../errors.js';
import { encodeFrame } from '../protocol/frame-encoder.js';
import type { ServerMessage } from '../protocol/messages.js';
import type { FrameConnection } from './connection.js';
import { RequestIds } from './request-ids.js';

/** A request the client routes frames to: a command or a file transfer. */
export interface TrackedRequest {
  receive(message: ServerMessage, body: Buffer): void;
  /** The server refused it (its `error` frame). */
  refused(error: RexecError): void;
  /** The connection ended first; for a waiting request: it will never be sent. */
  abort(error: RexecError): void;
  /** Its request frame was just sent. */
  sent(): void;
  /** A BUSY sent it back to the queue: it waits again, as before it was first sent. */
  requeued(): void;
  /**
   * True while the server has said nothing about it and nothing but its request was
   * sent for its id: a BUSY answer then leaves nothing behind, and it may be sent again.
   */
  retryable(): boolean;
}

interface Waiting {
  readonly id: number;
  readonly request: TrackedRequest;
  readonly header: object;
}

/** Ids, requests sent, and requests waiting for a slot. */
export class RequestTable {
  readonly #connection: Pick<FrameConnection, 'send'>;
  readonly #open: () => boolean;
  readonly #sent = new Map<number, TrackedRequest>();
  // The headers of sent requests that a BUSY may send again (not those with failFast).
  readonly #headers = new Map<number, object>();
  // Requests a BUSY sent back go first, in the order they were refused.
  readonly #retries: Waiting[] = [];
  readonly #waiting = new Map<number, Waiting>();
  readonly #ids = new RequestIds();
  readonly #inUse = { has: (id: number): boolean => this.#sent.has(id) || this.#isWaiting(id) };
  #window: number;
  #pumping = false;

  /** `maxConcurrent` from the server's hello (no limit when it is not a positive integer). */
  constructor(connection: Pick<FrameConnection, 'send'>, maxConcurrent: unknown, open: () => boolean) {
    this.#connection = connection;
    this.#open = open;
    this.#window =
      Number.isSafeInteger(maxConcurrent) && (maxConcurrent as number) > 0 ? (maxConcurrent as number) : Infinity;
  }

  /** Requests sent and not yet ended. */
  get running(): number {
    return this.#sent.size;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#retries.length + this.#waiting.size;
  }

  /** Most requests sent at once: the server's limit, or fewer after a BUSY. */
  get window(): number {
    return this.#window;
  }

  /** An id used by no request of this connection, sent or waiting. */
  nextId(): number {
    return this.#ids.next(this.#inUse);
  }

  /** The sent request of `id`. */
  get(id: number): TrackedRequest | undefined {
    return this.#sent.get(id);
  }

  /**
   * Sends the request now when a slot is free and none waits before it (or with
   * `failFast`: then the server's BUSY is the caller's), else queues it. Throws
   * FRAME_TOO_LARGE, at once either way, for a header over the limit.
   */
  start(id: number, request: TrackedRequest, header: object, failFast: boolean): void {
    if (failFast || (this.queued === 0 && this.#sent.size < this.#window)) {
      this.#send({ id, request, header }, failFast);
      return;
    }
    encodeFrame(header);
    this.#waiting.set(id, { id, request, header });
  }

  /** Routes the frames of `id` to another request (a cancelled transfer's stand-in). */
  replace(id: number, request: TrackedRequest): void {
    this.#sent.set(id, request);
    this.#headers.delete(id);
  }

  /** The server sends nothing more for `id`: it is free again, and the next waiting request goes. */
  free(id: number): void {
    this.#sent.delete(id);
    this.#headers.delete(id);
    this.#pump();
  }

  /** Takes a waiting request out (its caller gave up); false when it was sent already. */
  withdraw(id: number): boolean {
    if (this.#waiting.delete(id)) return true;
    const index = this.#retries.findIndex((waiting) => waiting.id === id);
    if (index < 0) return false;
    this.#retries.splice(index, 1);
    return true;
  }

  /**
   * The server answered BUSY for `id` though the client counted a free slot (a per-user
   * limit lower than the hello's, or other connections of the same user). When this
   * connection has other requests running, no more are sent at once from now on than
   * run now, and the request, if nothing but its own frame went out for it, waits for
   * one of them to end and goes first. True when it was queued again; false when the
   * BUSY is the caller's (failFast, stdin already sent, or nothing else running).
   */
  retryBusy(id: number): boolean {
    const request = this.#sent.get(id);
    const others = this.#sent.size - 1;
    if (request === undefined || others < 1) return false;
    this.#window = Math.min(this.#window, others);
    const header = this.#headers.get(id);
    if (header === undefined || !request.retryable()) return false;
    this.#sent.delete(id);
    this.#headers.delete(id);
    request.requeued();
    this.#retries.push({ id, request, header });
    return true;
  }

  /** The connection ended: every request, sent or waiting, ends with `error`. */
  abortAll(error: RexecError): void {
    const waiting = [...this.#retries, ...this.#waiting.values()];
    this.#retries.length = 0;
    this.#waiting.clear();
    for (const request of [...this.#sent.values()]) request.abort(error);
    for (const { request } of waiting) request.abort(error);
  }

  #send(waiting: Waiting, failFast: boolean): void {
    const { id, request, header } = waiting;
    this.#sent.set(id, request);
    if (!failFast) this.#headers.set(id, header);
    try {
      this.#connection.send(header);
    } catch (error) {
      // The header did not fit in a frame (section 2): nothing was sent.
      this.#sent.delete(id);
      this.#headers.delete(id);
      throw error;
    }
    request.sent();
  }

  // Sends waiting requests while slots are free (never once the connection is closing).
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.queued > 0 && this.#sent.size < this.#window && this.#open()) {
        const next = this.#retries.shift() ?? this.#firstWaiting();
        this.#send(next, false);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #firstWaiting(): Waiting {
    const first = this.#waiting.values().next().value as Waiting;
    this.#waiting.delete(first.id);
    return first;
  }

  #isWaiting(id: number): boolean {
    return this.#waiting.has(id) || this.#retries.some((waiting) => waiting.id === id);
  }
}
