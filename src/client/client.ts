// An authenticated connection to rexecd: runs many commands at once, each under its
// own request id, and routes the server's frames to them (docs/protocol.md sections 4, 6, 8).
// Requests past the server's limit wait in the client until a slot frees (request-table.ts).
import { EventEmitter } from 'node:events';
import { RexecError } from '../errors.js';
import { MAX_BODY_LENGTH } from '../protocol/constants.js';
import type { HelloLimits, ServerMessage } from '../protocol/messages.js';
import type { ConnectionHandler, FrameConnection } from './connection.js';
import { checkControl, execHeader } from './exec-options.js';
import type { ExecOptions } from './exec-options.js';
import { getHeader, putHeader, sourceSize } from './file-options.js';
import type { GetOptions, PutOptions, PutSource, TransferResult } from './file-options.js';
import type { RoutedRequest, TransferHooks } from './file-transfer.js';
import { GetCall } from './get-call.js';
import type { RemoteFile } from './get-call.js';
import { PutCall } from './put-call.js';
import { ProcessRequest } from './remote-process.js';
import { RequestTable } from './request-table.js';
import { runToEnd } from './run.js';
import type { RunCommand, RunOptions, RunResult } from './run.js';
import type { RemoteProcess } from './remote-process.js';
import { errorFromFrame, isFatalErrorFrame } from './server-error.js';

/** What the server said about itself in its `hello`. */
export interface ServerHello {
  /** The protocol version, 1. */
  readonly protocol: number;
  /** The server's name and version, e.g. "rexecd/0.1.0". */
  readonly server: string;
  /** The server's authentication scheme. */
  readonly auth: 'hmac-sha256' | 'none';
  /** Whether the server runs `command` requests (`/bin/sh -c`). */
  readonly shell: boolean;
  /** Frame size limits and the number of commands a connection may run at once. */
  readonly limits: HelloLimits;
  /** Whether the server implements file transfers (put, get). */
  readonly files?: boolean;
  /** Whether the server runs commands on a pseudo-terminal (`exec` option `pty`). */
  readonly pty?: boolean;
  /** The server's stdin window, when it acknowledges stdin (rexec extension). */
  readonly stdinWindow?: number;
}

/** Events of a client: 'close' once, with the error that ended it unless close() did. */
export interface ClientEvents {
  close: [error: RexecError | undefined];
}

/** Where a client stands after its handshake: handed over by connect(). */
export interface ClientSetup {
  readonly connection: FrameConnection;
  readonly hello: ServerHello;
  readonly user: string;
  readonly authenticated: boolean;
}

/** A connection to rexecd, ready for commands. Made by connect(). */
export class RexecClient extends EventEmitter<ClientEvents> {
  /** The server's `hello`. */
  readonly hello: ServerHello;
  /** The user this connection authenticated as. */
  readonly user: string;
  /** True when both sides proved they know the key; false for a server without auth. */
  readonly authenticated: boolean;
  /** Resolves once the connection has closed, with the error that ended it if any. */
  readonly closed: Promise<RexecError | undefined>;
  readonly #connection: FrameConnection;
  readonly #requests: RequestTable;
  readonly #pings: Array<{ resolve: (ms: number) => void; reject: (error: RexecError) => void; start: number }> = [];
  /** Largest body we send: the protocol's, or less if the server's hello says so. */
  readonly #maxBody: number;
  #closing = false;
  #failure: RexecError | undefined;
  #resolveClosed!: (error: RexecError | undefined) => void;

  /** Internal: use connect(). Takes over the connection's messages from the handshake. */
  constructor(setup: ClientSetup) {
    super();
    this.hello = setup.hello;
    this.user = setup.user;
    this.authenticated = setup.authenticated;
    this.#connection = setup.connection;
    const { maxBody } = setup.hello.limits;
    this.#maxBody = Number.isInteger(maxBody) && maxBody > 0 ? Math.min(maxBody, MAX_BODY_LENGTH) : MAX_BODY_LENGTH;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#requests = new RequestTable(this.#connection, setup.hello.limits.maxConcurrent, () => !this.isClosed);
    const handler: ConnectionHandler = {
      onMessage: (message, body) => this.#onMessage(message, body),
      onClose: (error) => this.#onClose(error),
    };
    this.#connection.setHandler(handler);
  }

  /** Commands and transfers sent on this connection and not yet ended. */
  get running(): number {
    return this.#requests.running;
  }

  /** Commands and transfers waiting for one of the server's slots (`hello.limits.maxConcurrent`). */
  get queued(): number {
    return this.#requests.queued;
  }

  /** True once the connection has closed or close() was called. */
  get isClosed(): boolean {
    return this.#closing || this.#connection.closed;
  }

  /**
   * Starts a command. Throws BAD_REQUEST for invalid options, FRAME_TOO_LARGE for a
   * command line over one frame, and CONNECTION_CLOSED on a closed client; everything
   * the server says comes through the returned process. Past the server's limit of
   * running requests the command waits in the client and is sent when a slot frees
   * (`failFast: true`: sent at once, and the server's BUSY rejects it).
   */
  exec(options: ExecOptions): RemoteProcess {
    if (this.isClosed) {
      throw this.#failure ?? new RexecError('CONNECTION_CLOSED', 'the client is closed');
    }
    if (options.pty !== undefined && !this.hello.pty) {
      throw new RexecError(
        'UNSUPPORTED',
        `the server (${this.hello.server}) cannot run commands on a terminal (no "pty" in its hello)`,
      );
    }
    const { failFast, signal } = checkControl(options);
    const id = this.#requests.nextId();
    const stdinMaxBody = options.stdin === true || options.pty !== undefined ? this.#maxBody : undefined;
    // Where the server acknowledges stdin, ask it to, and keep to its window: a signal
    // sent after a large stdin then always reaches a process that does not read it.
    const stdinWindow = stdinMaxBody === undefined ? undefined : this.hello.stdinWindow;
    const header = { ...execHeader(id, options), ...(stdinWindow === undefined ? {} : { stdinAck: true }) };
    const request = new ProcessRequest(id, this.#connection, stdinMaxBody, () => this.#requests.free(id), stdinWindow);
    if (signal?.aborted) {
      request.cancel(signal.reason);
      return request;
    }
    this.#requests.start(id, request, header, failFast);
    if (signal !== undefined) {
      const onAbort = (): void => {
        this.#requests.withdraw(id);
        request.cancel(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const forget = (): void => signal.removeEventListener('abort', onAbort);
      request.exit.then(forget, forget);
    }
    return request;
  }

  /**
   * Runs a command to its end with its output in memory (at most `maxBuffer` bytes):
   * resolves with `{ stdout, stderr, code, signal, timedOut, ... }` whatever the exit
   * code; rejects with a RexecError when it could not run, with OUTPUT_LIMIT past
   * `maxBuffer`, or with `signal`'s reason (run.ts).
   */
  run(command: RunCommand, options: RunOptions & { readonly encoding: 'buffer' }): Promise<RunResult<Buffer>>;
  run(command: RunCommand, options?: RunOptions & { readonly encoding?: 'utf8' }): Promise<RunResult<string>>;
  run(command: RunCommand, options?: RunOptions): Promise<RunResult<string | Buffer>> {
    return runToEnd((execOptions) => this.exec(execOptions), command, options);
  }

  /**
   * Writes a file on the server (docs/protocol.md section 9): `source` is bytes in memory or a
   * stream of exactly `options.size` bytes (a stream is consumed, and destroyed if the
   * transfer fails). Resolves once the file is durable and in place and the server's
   * byte count and sha256 match what was sent; rejects with a RexecError: the server's
   * code (EXISTS, NOT_FOUND, DENIED, BAD_REQUEST, BUSY, ...), CHECKSUM_MISMATCH, or the
   * connection's. An abort, a failure or a broken connection leaves no file behind.
   */
  put(source: PutSource, remotePath: string, options: PutOptions = {}): Promise<TransferResult> {
    let call: PutCall;
    try {
      this.#checkFiles();
      const size = sourceSize(source, options);
      const id = this.#requests.nextId();
      const header = putHeader(id, remotePath, size, options);
      call = new PutCall(id, size, this.#maxBody, this.#connection, this.#hooks(id));
      this.#requests.start(id, call, header, checkControl(options).failFast);
    } catch (error) {
      return Promise.reject(error);
    }
    void call.run(source, options.signal, options.onProgress);
    return call.result;
  }

  /**
   * Reads a file on the server: resolves with its size, mode, mtime and content stream
   * once the server has opened it (rejects with NOT_FOUND, DENIED, BAD_REQUEST for a
   * directory, ...). The stream ends only after the content matched the server's
   * `done` (byte count and sha256); `done` says how it ended.
   */
  get(remotePath: string, options: GetOptions = {}): Promise<RemoteFile> {
    let call: GetCall;
    try {
      this.#checkFiles();
      const { failFast } = checkControl(options);
      const id = this.#requests.nextId();
      const header = getHeader(id, remotePath);
      call = new GetCall(id, this.#connection, this.#hooks(id));
      this.#requests.start(id, call, header, failFast);
      // After start(): an abort must find the call in the table (waiting or sent).
      call.watch(options.signal);
    } catch (error) {
      return Promise.reject(error);
    }
    return call.file;
  }

  /** Sends a `ping`; resolves with the round-trip time in milliseconds. */
  ping(ts?: unknown): Promise<number> {
    if (this.isClosed) {
      return Promise.reject(this.#failure ?? new RexecError('CONNECTION_CLOSED', 'the client is closed'));
    }
    return new Promise((resolve, reject) => {
      // The global `performance`: Node loads perf_hooks on its first use, not at every start.
      this.#pings.push({ resolve, reject, start: performance.now() });
      this.#connection.send(ts === undefined ? { type: 'ping' } : { type: 'ping', ts });
    });
  }

  /**
   * Ends the connection (the server then ends every command still running on it);
   * resolves once it has closed.
   */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#connection.close();
    await this.closed;
  }

  #checkFiles(): void {
    if (this.isClosed) throw this.#failure ?? new RexecError('CONNECTION_CLOSED', 'the client is closed');
    if (this.hello.files !== true) {
      throw new RexecError('UNSUPPORTED', `the server (${this.hello.server}) does not support file transfers`);
    }
  }

  // How a transfer gives its id back. One aborted while it waits for a slot is simply
  // never sent. A sent one stays reserved (its late frames ignored) until a ping comes
  // back: the server handles frames in order, so by then it has handled the signal and
  // sends nothing more for the id.
  #hooks(id: number): TransferHooks {
    return {
      free: () => this.#requests.free(id),
      cancel: () => {
        if (this.#requests.withdraw(id)) return;
        const retired: RoutedRequest = {
          receive() {},
          refused() {},
          abort() {},
          sent() {},
          requeued() {},
          retryable: () => false,
        };
        this.#requests.replace(id, retired);
        this.#connection.send({ type: 'signal', id, signal: 'SIGINT' });
        const release = (): void => {
          if (this.#requests.get(id) === retired) this.#requests.free(id);
        };
        this.ping().then(release, release);
      },
    };
  }

  #onMessage(message: ServerMessage, body: Buffer): void {
    switch (message.type) {
      case 'error': {
        const error = errorFromFrame(message);
        if (isFatalErrorFrame(message)) {
          this.#connection.fail(error);
          return;
        }
        // Non-fatal errors without an id, or for an id we no longer have, concern
        // nothing we wait for (e.g. UNKNOWN_ID after a stdin/exit race).
        if (message.id === undefined) return;
        // BUSY though a slot seemed free: sent again once one of ours ends, if it can be.
        if (error.code === 'BUSY' && this.#requests.retryBusy(message.id)) return;
        this.#requests.get(message.id)?.refused(error);
        return;
      }
      case 'pong': {
        const ping = this.#pings.shift();
        ping?.resolve(performance.now() - ping.start);
        return;
      }
      case 'hello':
      case 'auth-ok':
        throw new RexecError('UNEXPECTED_FRAME', `server sent "${message.type}" after the handshake`);
      default:
        // Frames for ids we do not have are ignored.
        this.#requests.get(message.id)?.receive(message, body);
    }
  }

  #onClose(error: RexecError | undefined): void {
    this.#failure = error;
    const reason =
      error ??
      new RexecError(
        'CONNECTION_CLOSED',
        this.#closing ? 'the client closed the connection' : 'the server closed the connection',
      );
    this.#requests.abortAll(reason);
    for (const ping of this.#pings.splice(0)) ping.reject(reason);
    const reported = this.#closing && error === undefined ? undefined : reason;
    this.#resolveClosed(reported);
    this.emit('close', reported);
  }
}
