// One command on the server, seen from the client: its frames in (started, output,
// exit, or an error instead) and its stdin and signals out (docs/protocol.md section 4).
// A command waiting for a slot (request-table.ts) holds its stdin, signals and resizes
// until its `exec` is sent; they go right after it (the server takes them while the
// process starts).
import type { Readable, Writable } from 'node:stream';
import { RexecError } from '../errors.js';
import { isSignalName } from '../protocol/constants.js';
import type { SignalName } from '../protocol/constants.js';
import type { ExitMessage, ExitStatus, ServerMessage } from '../protocol/messages.js';
import type { FrameConnection } from './connection.js';
import { OutputStream } from './output-stream.js';
import type { TrackedRequest } from './request-table.js';
import { StdinStream } from './stdin-stream.js';

/** A running command: its streams, its signals and the promise of its end. */
export interface RemoteProcess {
  /** The request id on this connection. */
  readonly id: number;
  /** Resolves when the server has started the process; rejects like `exit`. */
  readonly started: Promise<{ readonly pid: number }>;
  /** The process's stdout, raw bytes. Read it (or destroy it): an unread stream stalls the connection. */
  readonly stdout: Readable;
  /** The process's stderr, raw bytes (empty with `merge`). */
  readonly stderr: Readable;
  /** The process's stdin when exec was given `stdin: true`, else null; end() closes it. */
  readonly stdin: Writable | null;
  /**
   * Resolves once the exit has arrived, every byte of output has been received and
   * checked, and the streams that have a reader have ended. Rejects with a RexecError:
   * the server's code for this request (NOT_FOUND, DENIED, BUSY, ...), or the
   * connection's (CONNECTION_CLOSED, ...) if it ends first.
   */
  readonly exit: Promise<ExitStatus>;
  /**
   * Sends a signal to the process group; false when the command is not running: still
   * waiting for a slot (the `signal` option withdraws it), or ended.
   */
  signal(name: SignalName): boolean;
  /** Tells the server the terminal's new size (commands run with `pty` only). */
  resize(cols: number, rows: number): boolean;
}

/** The part of a connection a request needs. */
export type RequestChannel = Pick<FrameConnection, 'send' | 'onDrain' | 'block' | 'unblock'>;

const enum State {
  /** Waiting for a slot (request-table.ts): nothing sent yet. */
  Queued,
  Sent,
  Started,
  Done,
}

/** The client's side of one request: takes its frames, and settles its promises once. */
export class ProcessRequest implements RemoteProcess, TrackedRequest {
  readonly id: number;
  readonly started: Promise<{ readonly pid: number }>;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly stdin: StdinStream | null;
  readonly exit: Promise<ExitStatus>;
  readonly #channel: RequestChannel;
  readonly #onDone: () => void;
  #state = State.Queued;
  // What waits for the `exec` to be sent (stdin, signals, resizes), in order.
  #held: Array<() => void> = [];
  // Set once anything but the `exec` went out for this id: a BUSY can no longer be retried.
  #spoke = false;
  #cancelled = false;
  #stdoutBytes = 0;
  #stderrBytes = 0;
  #resolveStarted!: (value: { pid: number }) => void;
  #rejectStarted!: (error: unknown) => void;
  #resolveExit!: (value: ExitStatus) => void;
  #rejectExit!: (error: unknown) => void;

  /**
   * `stdinMaxBody` is the largest stdin frame body, or undefined for no stdin;
   * `onDone` is called once the id is free again (exit, error or connection end);
   * `stdinWindow`, the server's window when the exec asked for `stdinAck`.
   */
  constructor(
    id: number,
    channel: RequestChannel,
    stdinMaxBody: number | undefined,
    onDone: () => void,
    stdinWindow?: number,
  ) {
    this.id = id;
    this.#channel = channel;
    this.#onDone = onDone;
    this.stdout = new OutputStream(channel);
    this.stderr = new OutputStream(channel);
    this.stdin =
      stdinMaxBody === undefined
        ? null
        : new StdinStream(id, channel, stdinMaxBody, (action) => this.#afterSent(action), stdinWindow);
    this.started = new Promise((resolve, reject) => {
      this.#resolveStarted = resolve;
      this.#rejectStarted = reject;
    });
    // `exit` rejects too: a caller who only awaits `exit` must not crash on `started`.
    this.started.catch(() => undefined);
    this.exit = new Promise((resolve, reject) => {
      this.#resolveExit = resolve;
      this.#rejectExit = reject;
    });
  }

  signal(name: SignalName): boolean {
    if (!isSignalName(name)) {
      throw new RexecError('BAD_REQUEST', `unknown signal name ${JSON.stringify(name)}`, { id: this.id });
    }
    if (this.#state === State.Done || this.#state === State.Queued) return false;
    this.#afterSent(() => this.#channel.send({ type: 'signal', id: this.id, signal: name }));
    return true;
  }

  resize(cols: number, rows: number): boolean {
    if (this.#state === State.Done || this.#state === State.Queued) return false;
    this.#afterSent(() => this.#channel.send({ type: 'resize', id: this.id, cols, rows }));
    return true;
  }

  sent(): void {
    if (this.#state !== State.Queued) return;
    this.#state = State.Sent;
    for (const action of this.#held.splice(0)) this.#afterSent(action);
  }

  retryable(): boolean {
    return this.#state === State.Sent && !this.#spoke && !this.#cancelled;
  }

  requeued(): void {
    if (this.#state === State.Sent) this.#state = State.Queued;
  }

  /**
   * The caller gave up (its AbortSignal): `started` and `exit` reject with `reason` at
   * once and the output is dropped. A command still waiting for a slot is never sent
   * (the caller has withdrawn it from the queue first); a sent one is killed (SIGKILL to
   * its group), and its id stays taken until the server's exit.
   */
  cancel(reason: unknown): void {
    if (this.#state === State.Done || this.#cancelled) return;
    this.#cancelled = true;
    if (this.#state === State.Queued) this.#finish();
    else this.#afterSent(() => this.#channel.send({ type: 'signal', id: this.id, signal: 'SIGKILL' }));
    this.stdout.destroy();
    this.stderr.destroy();
    this.stdin?.destroy();
    this.#rejectStarted(reason);
    this.#rejectExit(reason);
  }

  /**
   * Takes a frame for this id. A frame out of the order of section 4 throws
   * UNEXPECTED_FRAME, which ends the connection.
   */
  receive(message: ServerMessage, body: Buffer): void {
    switch (message.type) {
      case 'started':
        this.#expect(State.Sent, message.type);
        this.#state = State.Started;
        this.#resolveStarted({ pid: message.pid });
        return;
      case 'stdout':
        this.#expect(State.Started, message.type);
        this.#stdoutBytes += body.length;
        this.stdout.deliver(body);
        return;
      case 'stderr':
        this.#expect(State.Started, message.type);
        this.#stderrBytes += body.length;
        this.stderr.deliver(body);
        return;
      case 'exit':
        this.#expect(State.Started, message.type);
        this.#exited(message);
        return;
      case 'stdin-ack':
        this.#expect(State.Started, message.type);
        this.stdin?.acknowledged(message.bytes);
        return;
      default:
        throw new RexecError('UNEXPECTED_FRAME', `server sent "${message.type}" for request ${this.id}`);
    }
  }

  /**
   * The server refused this request (its `error` frame with our id). Once the process
   * has started, such an error can only concern a stdin or signal frame that raced its
   * exit, and is ignored.
   */
  refused(error: RexecError): void {
    if (this.#state !== State.Sent) return;
    this.#finish();
    this.stdout.finish();
    this.stderr.finish();
    this.#rejectStarted(error);
    this.#rejectExit(error);
  }

  /** The connection ended before this request did. */
  abort(error: RexecError): void {
    if (this.#state === State.Done) return;
    const mine = new RexecError(error.code, error.message, { id: this.id, cause: error });
    this.#finish();
    // Destroyed without an error: the reader sees no clean end, and no 'error' event can go unheard.
    this.stdout.destroy();
    this.stderr.destroy();
    this.#rejectStarted(mine);
    this.#rejectExit(mine);
  }

  #exited(message: ExitMessage): void {
    this.#finish();
    this.stdout.finish();
    this.stderr.finish();
    if (message.stdoutBytes !== this.#stdoutBytes || message.stderrBytes !== this.#stderrBytes) {
      this.#rejectExit(
        new RexecError(
          'UNEXPECTED_FRAME',
          `request ${this.id}: the server sent ${message.stdoutBytes} stdout and ${message.stderrBytes} ` +
            `stderr bytes, but ${this.#stdoutBytes} and ${this.#stderrBytes} arrived`,
          { id: this.id },
        ),
      );
      return;
    }
    const result: ExitStatus = {
      code: message.code,
      signal: message.signal,
      timedOut: message.timedOut,
      truncated: message.truncated,
      stdoutBytes: message.stdoutBytes,
      stderrBytes: message.stderrBytes,
      durationMs: message.durationMs,
      ...(message.stdinTruncated === true ? { stdinTruncated: true, stdinBytes: message.stdinBytes ?? 0 } : {}),
    };
    void Promise.all([this.stdout.whenRead(), this.stderr.whenRead()]).then(() => this.#resolveExit(result));
  }

  #finish(): void {
    this.#state = State.Done;
    this.#held = [];
    this.stdin?.destroy();
    this.#onDone();
  }

  // Runs `action` now if the `exec` has been sent, else once it is (never if it is not).
  #afterSent(action: () => void): void {
    if (this.#state === State.Sent || this.#state === State.Started) {
      this.#spoke = true;
      action();
    } else if (this.#state === State.Queued) {
      this.#held.push(action);
    }
  }

  #expect(state: State, type: string): void {
    if (this.#state !== state) {
      throw new RexecError('UNEXPECTED_FRAME', `server sent "${type}" for request ${this.id} out of order`);
    }
  }
}
