// File transfers seen from the client (PROTOCOL-files.md): a put waits for `ready`,
// sends its bytes in `data` frames at the pace of the socket (the last one held back
// until the source has really ended, so that `eof` is only sent for exactly `size`
// bytes), and checks `done`; a get hands `data` to a stream with backpressure and ends
// that stream only once `done` matches what arrived.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { RexecError } from '../errors.js';
import type { ServerMessage } from '../protocol/messages.js';
import type { FrameConnection } from './connection.js';
import type { PutSource, TransferResult } from './file-options.js';
import { OutputStream } from './output-stream.js';
import type { TrackedRequest } from './request-table.js';

/** The part of a connection a transfer needs. */
export type TransferChannel = Pick<FrameConnection, 'send' | 'onDrain' | 'block' | 'unblock'>;

/** How a transfer gives its id back: `free` when the server is done with it, `cancel` to abort it. */
export interface TransferHooks {
  /** The server sends nothing more for the id: it may be used again. */
  free(): void;
  /**
   * Gives up on the transfer: one still waiting for a slot is never sent; a sent one
   * gets SIGINT for its id, which stays reserved until the server has handled that.
   */
  cancel(): void;
}

/** What the client routes to a request: its frames, its refusal, the connection's end. */
export type RoutedRequest = TrackedRequest;

/** A remote file being read: its metadata, its content, and the check of its end. */
export interface RemoteFile {
  /** Size in bytes, as the server announced it. */
  readonly size: number;
  /** Permission bits (st_mode & 0o7777). */
  readonly mode: number;
  /** Modification time, milliseconds since the epoch. */
  readonly mtimeMs: number;
  /**
   * The content. It ends only after the server's `done` has matched what arrived; on a
   * mismatch or a failure it is destroyed with the error. Read it (or destroy it: that
   * aborts the transfer): an unread stream stalls the connection.
   */
  readonly stream: Readable;
  /** Resolves once every byte arrived and matched `done` (bytes and sha256); rejects otherwise. */
  readonly done: Promise<TransferResult>;
}

/** One `put`: created by the client, which routes the frames of its id here. */
export class PutCall implements RoutedRequest {
  readonly id: number;
  readonly result: Promise<TransferResult>;
  readonly #channel: TransferChannel;
  readonly #hooks: TransferHooks;
  readonly #size: number;
  readonly #maxBody: number;
  readonly #hash = createHash('sha256');
  #state: 'waiting' | 'sending' | 'finishing' | 'over' = 'waiting';
  #sent = 0;
  #wake: (() => void) | undefined;
  #resolve!: (result: TransferResult) => void;
  #reject!: (error: unknown) => void;

  constructor(id: number, size: number, maxBody: number, channel: TransferChannel, hooks: TransferHooks) {
    this.id = id;
    this.#size = size;
    this.#maxBody = maxBody;
    this.#channel = channel;
    this.#hooks = hooks;
    this.result = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Sends the source's bytes once the server is ready; settles `result`. */
  async run(source: PutSource, signal: AbortSignal | undefined, onProgress: ((bytes: number) => void) | undefined): Promise<void> {
    // The signal counts until the result is settled: also while `done` is awaited.
    const onAbort = (): void => this.#cancel(signal?.reason ?? new Error('aborted'));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const forget = (): void => signal?.removeEventListener('abort', onAbort);
    this.result.then(forget, forget);
    try {
      await this.#until(() => this.#state !== 'waiting');
      if (this.#state !== 'sending') return;
      await this.#send(source, onProgress);
    } catch (error) {
      this.#cancel(error);
    }
  }

  receive(message: ServerMessage): void {
    if (message.type === 'ready' && this.#state === 'waiting') {
      this.#state = 'sending';
      this.#wakeUp();
      return;
    }
    if (message.type === 'done' && this.#state === 'finishing') {
      this.#state = 'over';
      this.#hooks.free();
      const sha256 = this.#hash.digest('hex');
      if (message.bytes !== this.#size || message.sha256 !== sha256) {
        this.#reject(
          new RexecError(
            'CHECKSUM_MISMATCH',
            `the server stored ${message.bytes} bytes with sha256 ${message.sha256}, but ${this.#size} bytes ` +
              `with sha256 ${sha256} were sent`,
            { id: this.id },
          ),
        );
        return;
      }
      this.#resolve({ bytes: this.#size, sha256 });
      return;
    }
    throw new RexecError('UNEXPECTED_FRAME', `server sent "${message.type}" for put ${this.id} out of order`);
  }

  refused(error: RexecError): void {
    if (this.#state === 'over') return;
    this.#state = 'over';
    this.#hooks.free();
    this.#reject(error);
    this.#wakeUp();
  }

  abort(error: RexecError): void {
    this.refused(new RexecError(error.code, error.message, { id: this.id, cause: error }));
  }

  sent(): void {}

  requeued(): void {}

  retryable(): boolean {
    return this.#state === 'waiting';
  }

  async #send(source: PutSource, onProgress: ((bytes: number) => void) | undefined): Promise<void> {
    // The last piece waits until the source has ended: eof goes out only for exactly `size` bytes.
    let held: Buffer | undefined;
    for await (const chunk of chunks(source)) {
      if (this.#state !== 'sending') return;
      if (this.#sent + (held?.length ?? 0) + chunk.length > this.#size) {
        throw new RexecError('BAD_REQUEST', `the source has more than the ${this.#size} bytes announced`, { id: this.id });
      }
      for (let offset = 0; offset < chunk.length; offset += this.#maxBody) {
        if (held !== undefined) await this.#data(held, false, onProgress);
        if (this.#state !== 'sending') return;
        held = chunk.subarray(offset, offset + this.#maxBody);
      }
    }
    const total = this.#sent + (held?.length ?? 0);
    if (total !== this.#size) {
      throw new RexecError('BAD_REQUEST', `the source ended after ${total} of the ${this.#size} bytes announced`, { id: this.id });
    }
    await this.#data(held ?? Buffer.alloc(0), true, onProgress);
  }

  async #data(piece: Buffer, eof: boolean, onProgress: ((bytes: number) => void) | undefined): Promise<void> {
    if (this.#state !== 'sending') return;
    this.#hash.update(piece);
    this.#sent += piece.length;
    if (eof) this.#state = 'finishing';
    const flowing = this.#channel.send(eof ? { type: 'data', id: this.id, eof: true } : { type: 'data', id: this.id }, piece);
    onProgress?.(this.#sent);
    if (!flowing) await new Promise<void>((resolve) => this.#channel.onDrain(resolve));
  }

  // Gives up on our side: the server is told to abort (and to remove what it wrote).
  #cancel(error: unknown): void {
    if (this.#state === 'over') return;
    this.#state = 'over';
    this.#hooks.cancel();
    this.#reject(error);
    this.#wakeUp();
  }

  async #until(ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((resolve) => (this.#wake = resolve));
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** One `get`: created by the client, which routes the frames of its id here. */
export class GetCall implements RoutedRequest {
  readonly id: number;
  /** Resolves with the file once `file` has arrived; rejects with the server's refusal. */
  readonly file: Promise<RemoteFile>;
  readonly #hooks: TransferHooks;
  readonly #stream: OutputStream;
  readonly #hash = createHash('sha256');
  #state: 'waiting' | 'receiving' | 'finishing' | 'over' = 'waiting';
  #size = 0;
  #received = 0;
  #resolveFile!: (file: RemoteFile) => void;
  #rejectFile!: (error: unknown) => void;
  #resolveDone!: (result: TransferResult) => void;
  #rejectDone!: (error: unknown) => void;
  readonly #done: Promise<TransferResult>;

  constructor(id: number, channel: TransferChannel, hooks: TransferHooks) {
    this.id = id;
    this.#hooks = hooks;
    this.#stream = new OutputStream(channel);
    this.file = new Promise((resolve, reject) => {
      this.#resolveFile = resolve;
      this.#rejectFile = reject;
    });
    this.#done = new Promise((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    this.#done.catch(() => undefined);
    // A reader that destroys the stream early no longer wants the file: abort it.
    this.#stream.once('close', () => {
      if (this.#state === 'receiving' || this.#state === 'finishing') this.#cancel(new RexecError('CONNECTION_CLOSED', 'the stream was destroyed before the file arrived', { id }));
    });
  }

  /** Aborts the transfer when `signal` does (the caller's AbortSignal), until it has ended. */
  watch(signal: AbortSignal | undefined): void {
    if (signal === undefined) return;
    const onAbort = (): void => this.#cancel(signal.reason ?? new Error('aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const forget = (): void => signal.removeEventListener('abort', onAbort);
    void this.#done.then(forget, forget);
  }

  receive(message: ServerMessage, body: Buffer): void {
    switch (message.type) {
      case 'file':
        if (this.#state !== 'waiting') break;
        this.#state = 'receiving';
        this.#size = message.size;
        this.#resolveFile({
          size: message.size,
          mode: message.mode,
          mtimeMs: message.mtimeMs,
          stream: this.#stream,
          done: this.#done,
        });
        return;
      case 'data':
        if (this.#state !== 'receiving') break;
        if (this.#received + body.length > this.#size) {
          throw new RexecError('UNEXPECTED_FRAME', `server sent more than the ${this.#size} bytes of get ${this.id}`);
        }
        this.#received += body.length;
        this.#hash.update(body);
        this.#stream.deliver(body);
        if (message.eof) this.#state = 'finishing';
        return;
      case 'done':
        if (this.#state !== 'finishing') break;
        this.#finish(message.bytes, message.sha256);
        return;
      default:
        break;
    }
    throw new RexecError('UNEXPECTED_FRAME', `server sent "${message.type}" for get ${this.id} out of order`);
  }

  refused(error: RexecError): void {
    if (this.#state === 'over') return;
    this.#state = 'over';
    this.#hooks.free();
    this.#fail(error);
  }

  abort(error: RexecError): void {
    this.refused(new RexecError(error.code, error.message, { id: this.id, cause: error }));
  }

  sent(): void {}

  requeued(): void {}

  retryable(): boolean {
    return this.#state === 'waiting';
  }

  #finish(bytes: number, sha256: string): void {
    this.#state = 'over';
    this.#hooks.free();
    const mine = this.#hash.digest('hex');
    if (bytes !== this.#received || this.#received !== this.#size || sha256 !== mine) {
      this.#fail(
        new RexecError(
          'CHECKSUM_MISMATCH',
          `the server sent ${bytes} bytes with sha256 ${sha256} (announced ${this.#size}), but ${this.#received} ` +
            `bytes with sha256 ${mine} arrived`,
          { id: this.id },
        ),
      );
      return;
    }
    this.#stream.finish();
    this.#resolveDone({ bytes, sha256 });
  }

  #cancel(error: unknown): void {
    if (this.#state === 'over') return;
    this.#state = 'over';
    this.#hooks.cancel();
    this.#fail(error);
  }

  // The stream is destroyed without an error, as a command's output is: its reader sees
  // no clean end (a pipeline rejects), and no 'error' event can go unheard; the reason
  // is in `done`.
  #fail(error: unknown): void {
    this.#rejectFile(error);
    this.#rejectDone(error);
    if (!this.#stream.destroyed) this.#stream.destroy();
  }
}

// The source as Buffers: one for bytes in memory, the stream's chunks otherwise.
async function* chunks(source: PutSource): AsyncGenerator<Buffer> {
  if (typeof source === 'string') {
    yield Buffer.from(source, 'utf8');
    return;
  }
  if (source instanceof Uint8Array) {
    yield Buffer.isBuffer(source) ? source : Buffer.from(source.buffer, source.byteOffset, source.length);
    return;
  }
  for await (const chunk of source as Readable) {
    yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
  }
}

