// Incremental frame decoder (docs/protocol.md section 2): a state machine that takes bytes
// in any split, checks both lengths as soon as the prefix is complete, and hands out
// whole frames. Input chunks are kept in a list and sliced; bytes are copied only when
// a header or body spans chunks, and then exactly once.
import { isUtf8 } from 'node:buffer';
import { RexecError } from '../errors.js';
import { MAX_BODY_LENGTH, MAX_HEADER_LENGTH, PREFIX_LENGTH } from './constants.js';
import type { Frame, FrameHeader, FrameLimits } from './frame.js';

const EMPTY = Buffer.alloc(0);

const enum State {
  Prefix,
  Header,
  Body,
}

/** Receives each decoded frame, in stream order. */
export type FrameHandler = (frame: Frame) => void;

/**
 * Decodes a byte stream into frames. `push()` throws a `RexecError` (`PROTOCOL` or
 * `FRAME_TOO_LARGE`) on the first invalid byte; after that the decoder refuses all
 * further input with the same error.
 */
export class FrameDecoder {
  readonly #onFrame: FrameHandler;
  readonly #maxHeader: number;
  readonly #maxBody: number;
  #chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed (it is sliced only when a view is handed out). */
  #offset = 0;
  #buffered = 0;
  #state = State.Prefix;
  #headerLength = 0;
  #bodyLength = 0;
  #header: FrameHeader | undefined;
  #failure: unknown;

  constructor(onFrame: FrameHandler, limits?: Partial<FrameLimits>) {
    this.#onFrame = onFrame;
    this.#maxHeader = limits?.maxHeader ?? MAX_HEADER_LENGTH;
    this.#maxBody = limits?.maxBody ?? MAX_BODY_LENGTH;
  }

  /** Bytes received but not yet part of a whole frame. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** True between frames: no partial frame is buffered. */
  get idle(): boolean {
    return this.#state === State.Prefix && this.#buffered === 0;
  }

  /** The error that stopped this decoder, if any (a RexecError unless the handler threw). */
  get failure(): unknown {
    return this.#failure;
  }

  /**
   * Feeds bytes; calls the frame handler for every frame they complete. Bodies may be
   * views of `chunk`: the caller must not reuse or change it afterwards. An error the
   * handler throws is passed through unchanged and also stops the decoder.
   */
  push(chunk: Buffer): void {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- the failure as it was thrown (see above)
    if (this.#failure !== undefined) throw this.#failure;
    // Stryker disable next-line ConditionalExpression: a fast path; an empty chunk in the list is stepped over by #consume.
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    try {
      this.#run();
    } catch (error) {
      this.#failure = error;
      // Stryker disable next-line ArrayDeclaration: a failed decoder takes no more input; this only frees the memory.
      this.#chunks = [];
      this.#offset = 0;
      this.#buffered = 0;
      throw error;
    }
  }

  #run(): void {
    for (;;) {
      if (this.#state === State.Prefix) {
        if (this.#buffered < PREFIX_LENGTH) return;
        this.#readPrefix();
        this.#state = State.Header;
      }
      if (this.#state === State.Header) {
        if (this.#buffered < this.#headerLength) return;
        this.#header = this.#readHeader(this.#headerLength);
        if (this.#bodyLength === 0) {
          this.#emit(EMPTY);
          continue;
        }
        this.#state = State.Body;
      }
      if (this.#buffered < this.#bodyLength) return;
      this.#emit(this.#consume(this.#bodyLength));
    }
  }

  // Section 2: H = 0 is PROTOCOL; H, then B, over the limit is FRAME_TOO_LARGE; all
  // checked before a single header or body byte is awaited.
  #readPrefix(): void {
    let headerLength: number;
    let bodyLength: number;
    const first = this.#chunks[0] as Buffer;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a fast path; #consume gives the same 8 bytes.
    if (first.length - this.#offset >= PREFIX_LENGTH) {
      headerLength = first.readUInt32BE(this.#offset);
      bodyLength = first.readUInt32BE(this.#offset + 4);
      this.#advance(first, PREFIX_LENGTH);
    } else {
      const prefix = this.#consume(PREFIX_LENGTH);
      headerLength = prefix.readUInt32BE(0);
      bodyLength = prefix.readUInt32BE(4);
    }
    if (headerLength === 0) {
      throw new RexecError('PROTOCOL', 'header length is 0 (section 2: 1 <= H)');
    }
    if (headerLength > this.#maxHeader) {
      throw new RexecError('FRAME_TOO_LARGE', `header length ${headerLength} is over the limit of ${this.#maxHeader}`);
    }
    if (bodyLength > this.#maxBody) {
      throw new RexecError('FRAME_TOO_LARGE', `body length ${bodyLength} is over the limit of ${this.#maxBody}`);
    }
    this.#headerLength = headerLength;
    this.#bodyLength = bodyLength;
  }

  // A header inside one chunk is decoded straight from it: no view, no copy (the hot
  // path for small frames). Decoding replaces bad UTF-8 with U+FFFD, so only a header
  // that contains U+FFFD needs the strict check.
  #readHeader(n: number): FrameHeader {
    const first = this.#chunks[0] as Buffer;
    const start = this.#offset;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: the fast path below gives what parseHeader gives.
    if (first.length - start < n) return parseHeader(this.#consume(n));
    const text = first.toString('utf8', start, start + n);
    // Stryker disable next-line StringLiteral: checking every header strictly gives the same answers, only slower.
    if (text.includes('\uFFFD') && !isUtf8(first.subarray(start, start + n))) {
      throw new RexecError('PROTOCOL', 'header is not valid UTF-8');
    }
    this.#advance(first, n);
    return parseHeaderText(text);
  }

  #emit(body: Buffer): void {
    const header = this.#header as FrameHeader;
    this.#header = undefined;
    this.#state = State.Prefix;
    this.#onFrame({ header, body });
  }

  /** Moves past n bytes of the first chunk (n <= what is left of it). */
  #advance(first: Buffer, n: number): void {
    this.#offset += n;
    this.#buffered -= n;
    if (this.#offset === first.length) {
      this.#chunks.shift();
      this.#offset = 0;
    }
  }

  /** Takes n buffered bytes: a view when they lie in one chunk, else one copy. */
  #consume(n: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    const start = this.#offset;
    if (first.length - start >= n) {
      // All of the chunk (then start is 0), or a view of part of it.
      const view = n === first.length ? first : first.subarray(start, start + n);
      this.#advance(first, n);
      return view;
    }
    this.#buffered -= n;
    const out = Buffer.allocUnsafe(n);
    // Walk the list with an index and drop the used chunks once: shifting per chunk
    // would make a body trickled in one byte at a time quadratic.
    let offset = 0;
    let used = 0;
    let from = start;
    while (offset < n) {
      const chunk = this.#chunks[used] as Buffer;
      const take = Math.min(chunk.length - from, n - offset);
      chunk.copy(out, offset, from, from + take);
      offset += take;
      // Stryker disable next-line ArithmeticOperator: with "-", a used-up chunk is dropped one pass later (take 0): same bytes.
      if (from + take === chunk.length) {
        used += 1;
        from = 0;
      } else {
        from += take;
      }
    }
    this.#chunks.splice(0, used);
    this.#offset = from;
    return out;
  }
}

/** Section 2: valid UTF-8, valid JSON, an object, with a string `type`. */
export function parseHeader(bytes: Buffer): FrameHeader {
  if (!isUtf8(bytes)) throw new RexecError('PROTOCOL', 'header is not valid UTF-8');
  return parseHeaderText(bytes.toString('utf8'));
}

function parseHeaderText(text: string): FrameHeader {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RexecError('PROTOCOL', 'header is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RexecError('PROTOCOL', 'header is not a JSON object');
  }
  if (!Object.hasOwn(value, 'type') || typeof (value as { type: unknown }).type !== 'string') {
    throw new RexecError('PROTOCOL', 'header has no string "type"');
  }
  return value as FrameHeader;
}
