// An authenticated connection to rexecd: runs many commands at once, each under its
// own request id, and routes the server's frames to them (PROTOCOL.md sections 4, 6, 8).
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { RexecError } from '../errors.js';
import { MAX_BODY_LENGTH } from '../protocol/constants.js';
import type { HelloLimits, ServerMessage } from '../protocol/messages.js';
import type { ConnectionHandler, FrameConnection } from './connection.js';
import { execHeader } from './exec-options.js';
import type { ExecOptions } from './exec-options.js';
import { ProcessRequest } from './remote-process.js';
import { RequestIds } from './request-ids.js';
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
  readonly #requests = new Map<number, ProcessRequest>();
  readonly #pings: Array<{ resolve: (ms: number) => void; reject: (error: RexecError) => void; start: number }> =
    [];
  readonly #ids = new RequestIds();
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
    const handler: ConnectionHandler = {
      onMessage: (message, body) => this.#onMessage(message, body),
      onClose: (error) => this.#onClose(error),
    };
    this.#connection.setHandler(handler);
  }

  /** The number of commands running on this connection. */
  get running(): number {
    return this.#requests.size;
  }

  /** True once the connection has closed or close() was called. */
  get isClosed(): boolean {
    return this.#closing || this.#connection.closed;
  }

  /**
   * Starts a command. Throws BAD_REQUEST for invalid options and CONNECTION_CLOSED on a
   * closed client; everything the server says comes through the returned process.
   */
  exec(options: ExecOptions): RemoteProcess {
    if (this.isClosed) {
      throw this.#failure ?? new RexecError('CONNECTION_CLOSED', 'the client is closed');
    }
    const id = this.#ids.next(this.#requests);
    const header = execHeader(id, options);
    const stdinMaxBody = options.stdin === true ? this.#maxBody : undefined;
    const request = new ProcessRequest(id, this.#connection, stdinMaxBody, () => this.#requests.delete(id));
    this.#requests.set(id, request);
    try {
      this.#connection.send(header);
    } catch (error) {
      // The header did not fit in a frame (section 2): nothing was sent.
      this.#requests.delete(id);
      throw error;
    }
    return request;
  }

  /** Sends a `ping`; resolves with the round-trip time in milliseconds. */
  ping(ts?: unknown): Promise<number> {
    if (this.isClosed) {
      return Promise.reject(this.#failure ?? new RexecError('CONNECTION_CLOSED', 'the client is closed'));
    }
    return new Promise((resolve, reject) => {
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
        if (message.id !== undefined) this.#requests.get(message.id)?.refused(error);
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
    for (const request of [...this.#requests.values()]) request.abort(reason);
    for (const ping of this.#pings.splice(0)) ping.reject(reason);
    const reported = this.#closing && error === undefined ? undefined : reason;
    this.#resolveClosed(reported);
    this.emit('close', reported);
  }
}
