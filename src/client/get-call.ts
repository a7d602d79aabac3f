// A get seen from the client (docs/protocol.md section 9): it hands `data` to a stream with
// backpressure and ends that stream only once `done` matches what arrived.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { RexecError } from '../errors.js';
import type { ServerMessage } from '../protocol/messages.js';
import type { TransferResult } from './file-options.js';
import type { RoutedRequest, TransferChannel, TransferHooks } from './file-transfer.js';
import { OutputStream } from './output-stream.js';

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
      if (this.#state === 'receiving' || this.#state === 'finishing')
        this.#cancel(new RexecError('CONNECTION_CLOSED', 'the stream was destroyed before the file arrived', { id }));
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
