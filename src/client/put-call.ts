// A put seen from the client (docs/protocol.md section 9): it waits for `ready`, sends its bytes
// in `data` frames at the pace of the socket (the last one held back until the source
// has really ended, so that `eof` is only sent for exactly `size` bytes), and checks
// `done`.
import { createHash } from 'node:crypto';
import { RexecError } from '../errors.js';
import type { ServerMessage } from '../protocol/messages.js';
import type { PutSource, TransferResult } from './file-options.js';
import type { RoutedRequest, TransferChannel, TransferHooks } from './file-transfer.js';

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
  async run(
    source: PutSource,
    signal: AbortSignal | undefined,
    onProgress: ((bytes: number) => void) | undefined,
  ): Promise<void> {
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
        throw new RexecError('BAD_REQUEST', `the source has more than the ${this.#size} bytes announced`, {
          id: this.id,
        });
      }
      for (let offset = 0; offset < chunk.length; offset += this.#maxBody) {
        if (held !== undefined) await this.#data(held, false, onProgress);
        if (this.#state !== 'sending') return;
        held = chunk.subarray(offset, offset + this.#maxBody);
      }
    }
    const total = this.#sent + (held?.length ?? 0);
    if (total !== this.#size) {
      throw new RexecError('BAD_REQUEST', `the source ended after ${total} of the ${this.#size} bytes announced`, {
        id: this.id,
      });
    }
    await this.#data(held ?? Buffer.alloc(0), true, onProgress);
  }

  async #data(piece: Buffer, eof: boolean, onProgress: ((bytes: number) => void) | undefined): Promise<void> {
    if (this.#state !== 'sending') return;
    this.#hash.update(piece);
    this.#sent += piece.length;
    if (eof) this.#state = 'finishing';
    const flowing = this.#channel.send(
      eof ? { type: 'data', id: this.id, eof: true } : { type: 'data', id: this.id },
      piece,
    );
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
  for await (const chunk of source) {
    yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
  }
}
