// One accepted file transfer on a connection (docs/protocol.md section 9): a put takes `data`
// frames into its file with backpressure and answers `done` once the file is durable
// and in place; a get sends `file`, the content in `data` frames (the last with eof)
// and `done`. Either can be aborted (signal, close, shutdown): nothing more is sent.
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { RexecError } from '../../errors.js';
import { MAX_BODY_LENGTH } from '../../protocol/constants.js';
import type { FrameWriter } from '../frame-writer.js';
import type { OpenedGet, OpenedPut } from './local-files.js';
import { ioError } from './target.js';
import { errorFrame } from '../error-frame.js';

/** How a transfer ended, for the audit log and the connection's counts. */
export interface TransferOutcome {
  readonly result: 'done' | 'failed' | 'aborted';
  readonly bytes: number;
  readonly sha256: string | null;
  readonly error: RexecError | undefined;
}

/** What a transfer needs from its connection. */
export interface TransferHost {
  readonly writer: FrameWriter;
  /** Stops reading the connection until the returned function is called. */
  holdReading(): () => void;
  /** The transfer is over and its id is free again. Called once. */
  ended(transfer: Transfer, outcome: TransferOutcome): void;
}

/** A running put or get. */
export interface Transfer {
  readonly id: number;
  readonly kind: 'put' | 'get';
  /** The real path of the file. */
  readonly path: string;
  /** Ends it without another frame for its id (a signal, or the connection closed). */
  abort(): void;
  /** Ends it because the server shuts down: the client gets SHUTTING_DOWN for the id. */
  shutdown(): void;
}

/** A put between `ready` and `done`. */
export class PutTransfer implements Transfer {
  readonly id: number;
  readonly kind = 'put';
  readonly path: string;
  readonly #size: number;
  readonly #opened: OpenedPut;
  readonly #host: TransferHost;
  readonly #hash: Hash = createHash('sha256');
  #received = 0;
  #state: 'receiving' | 'committing' | 'over' = 'receiving';

  constructor(id: number, size: number, opened: OpenedPut, host: TransferHost) {
    this.id = id;
    this.path = opened.path;
    this.#size = size;
    this.#opened = opened;
    this.#host = host;
    // Errors of the writer are reported through `failed` (with the best message).
    opened.sink.on('error', () => undefined);
    opened.failed.then(
      (error) => {
        if (this.#state === 'receiving') this.#fail(error);
      },
      () => undefined,
    );
    host.writer.send({ type: 'ready', id });
  }

  /** One `data` frame: its bytes go to the file; the one with `eof` completes it. */
  data(body: Buffer, eof: boolean): void {
    const { id } = this;
    if (this.#state !== 'receiving') {
      this.#host.writer.send(errorFrame(new RexecError('BAD_REQUEST', `data after eof for request ${id}`, { id })));
      return;
    }
    if (this.#received + body.length > this.#size) {
      // Refused as soon as it arrives: nothing is written.
      this.#fail(
        new RexecError('BAD_REQUEST', `more than the ${this.#size} bytes announced: nothing was written`, { id }),
      );
      return;
    }
    this.#received += body.length;
    if (body.length > 0) {
      this.#hash.update(body);
      if (!this.#opened.sink.write(body)) this.#waitForDrain();
    }
    if (!eof) return;
    if (this.#received !== this.#size) {
      this.#fail(
        new RexecError(
          'BAD_REQUEST',
          `eof after ${this.#received} of the ${this.#size} bytes announced: nothing was written`,
          { id },
        ),
      );
      return;
    }
    this.#commit();
  }

  abort(): void {
    if (this.#state === 'over') return;
    this.#state = 'over';
    this.#opened.abort();
    this.#host.ended(this, { result: 'aborted', bytes: this.#received, sha256: null, error: undefined });
  }

  shutdown(): void {
    if (this.#state === 'over') return;
    this.#fail(
      new RexecError('SHUTTING_DOWN', 'the server shut down before the put finished: nothing was written', {
        id: this.id,
      }),
    );
  }

  // Section 5 for files: a disk (or helper) slower than the client slows the socket.
  #waitForDrain(): void {
    const release = this.#host.holdReading();
    const sink = this.#opened.sink;
    const done = (): void => {
      sink.off('drain', done);
      sink.off('close', done);
      release();
    };
    sink.on('drain', done);
    sink.on('close', done);
  }

  #commit(): void {
    this.#state = 'committing';
    const sha256 = this.#hash.digest('hex');
    this.#opened.commit().then(
      () => {
        if (this.#state !== 'committing') return;
        this.#state = 'over';
        this.#host.writer.send({ type: 'done', id: this.id, bytes: this.#received, sha256 });
        this.#host.ended(this, { result: 'done', bytes: this.#received, sha256, error: undefined });
      },
      (error: unknown) => {
        if (this.#state !== 'committing') return;
        this.#fail(ioError(this.path, error, this.id));
      },
    );
  }

  #fail(error: RexecError): void {
    if (this.#state === 'over') return;
    this.#state = 'over';
    this.#opened.abort();
    this.#host.writer.send(errorFrame(error));
    this.#host.ended(this, { result: 'failed', bytes: this.#received, sha256: null, error });
  }
}

/** A get from `file` to `done`. */
export class GetTransfer implements Transfer {
  readonly id: number;
  readonly kind = 'get';
  readonly path: string;
  readonly #opened: OpenedGet;
  readonly #host: TransferHost;
  readonly #hash: Hash = createHash('sha256');
  readonly #header: Buffer;
  readonly #lastHeader: Buffer;
  readonly #resume = (): void => {
    if (this.#state === 'sending') this.#opened.content.resume();
  };
  #sent = 0;
  #state: 'sending' | 'finishing' | 'over' = 'sending';

  constructor(id: number, opened: OpenedGet, host: TransferHost) {
    this.id = id;
    this.path = opened.path;
    this.#opened = opened;
    this.#host = host;
    this.#header = Buffer.from(JSON.stringify({ type: 'data', id }), 'utf8');
    this.#lastHeader = Buffer.from(JSON.stringify({ type: 'data', id, eof: true }), 'utf8');
    host.writer.send({ type: 'file', id, size: opened.size, mode: opened.mode, mtimeMs: opened.mtimeMs });
    const { content } = opened;
    content.on('data', (chunk: Buffer) => this.#chunk(chunk));
    content.once('end', () => this.#contentEnded());
    content.once('error', (error: Error) => this.#fail(ioError(this.path, error, id)));
  }

  abort(): void {
    if (this.#state === 'over') return;
    this.#state = 'over';
    this.#host.writer.cancelDrain(this.#resume);
    this.#opened.close();
    this.#host.ended(this, { result: 'aborted', bytes: this.#sent, sha256: null, error: undefined });
  }

  shutdown(): void {
    this.#fail(new RexecError('SHUTTING_DOWN', 'the server shut down before the get finished', { id: this.id }));
  }

  #chunk(chunk: Buffer): void {
    if (this.#state !== 'sending') return;
    const size = this.#opened.size;
    // The source gives exactly `size` bytes; a file that grew is sent as it was announced.
    const body = chunk.length > size - this.#sent ? chunk.subarray(0, size - this.#sent) : chunk;
    for (let offset = 0; offset < body.length; offset += MAX_BODY_LENGTH) {
      const part = body.length <= MAX_BODY_LENGTH ? body : body.subarray(offset, offset + MAX_BODY_LENGTH);
      this.#sent += part.length;
      this.#hash.update(part);
      this.#host.writer.sendOutput(this.#sent === size ? this.#lastHeader : this.#header, part);
    }
    if (this.#sent === size) {
      // All of it: nothing more is read. A helper's output may be written by another
      // process of its account too, and for as long as that one likes.
      this.#opened.content.destroy();
      this.#contentEnded();
      return;
    }
    // Section 5: a client that reads slowly stops the file being read.
    if (this.#host.writer.congested) {
      this.#opened.content.pause();
      this.#host.writer.whenDrained(this.#resume);
    }
  }

  #contentEnded(): void {
    if (this.#state !== 'sending') return;
    const size = this.#opened.size;
    if (this.#sent < size) {
      // A reader that failed says why; one that simply ran out found a shorter file.
      const shrank = new RexecError(
        'SPAWN_FAILED',
        `${JSON.stringify(this.path)} shrank while it was read (${this.#sent} of ${size} bytes)`,
        {
          id: this.id,
        },
      );
      this.#opened.finished.then(
        () => this.#fail(shrank),
        (error: unknown) => this.#fail(ioError(this.path, error, this.id)),
      );
      return;
    }
    // An empty file is one empty data frame with eof.
    if (size === 0) this.#host.writer.send({ type: 'data', id: this.id, eof: true });
    this.#state = 'finishing';
    const sha256 = this.#hash.digest('hex');
    this.#opened.finished.then(
      () => {
        if (this.#state !== 'finishing') return;
        this.#state = 'over';
        this.#host.writer.send({ type: 'done', id: this.id, bytes: this.#sent, sha256 });
        this.#host.ended(this, { result: 'done', bytes: this.#sent, sha256, error: undefined });
      },
      (error: unknown) => this.#fail(ioError(this.path, error, this.id)),
    );
  }

  #fail(error: RexecError): void {
    if (this.#state === 'over') return;
    this.#state = 'over';
    this.#host.writer.cancelDrain(this.#resume);
    this.#opened.close();
    this.#host.writer.send(errorFrame(error));
    this.#host.ended(this, { result: 'failed', bytes: this.#sent, sha256: null, error });
  }
}
