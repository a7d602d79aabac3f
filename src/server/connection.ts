// One client connection over any Duplex (a TCP or TLS socket, or an in-memory pair in
// tests): `hello` and authentication (docs/protocol.md section 3), then the admitted user's
// requests, handled strictly in the order they arrive (section 4, session.ts), idle and
// auth deadlines, and an end that leaves no process behind (section 6). The phase is a
// value holding what exists in that phase only: a user and a policy exist while open.
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { RexecError } from '../errors.js';
import { newNonce } from '../protocol/auth-proof.js';
import type { Frame } from '../protocol/frame.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { parseAuth } from '../protocol/requests.js';
import type { AuthRequest } from '../protocol/requests.js';
import type { ConnectionHost } from './connection-host.js';
import { ConnectionRecords } from './connection-records.js';
import type { Peer } from './connection-records.js';
import { clip, errorFrame } from './error-frame.js';
import type { Pending } from './exec-start.js';
import { FrameWriter } from './frame-writer.js';
import { buildHello, DEFAULT_USER, judgeAuth } from './handshake.js';
import { IdleClock } from './idle-clock.js';
import { clipText } from './log-text.js';
import { OUTPUT_HIGH_WATER_MARK } from './options.js';
import { ReadFlow } from './read-flow.js';
import { handleFrame } from './request-table.js';
import { Session } from './session.js';
import type { SessionLink } from './session.js';

type Phase =
  | { readonly name: 'auth' }
  /** A fatal error is decided (a failed auth waits out its delay): nothing more is handled. */
  | { readonly name: 'failing'; readonly user: string | null }
  | { readonly name: 'open'; readonly session: Session }
  | { readonly name: 'closed' };

// How long a closing socket may take to flush before it is destroyed.
const CLOSE_FLUSH_MS = 5_000;

/** Serves one client. */
export class Connection {
  readonly #stream: Duplex;
  readonly #host: ConnectionHost;
  readonly #peer: Peer;
  readonly #records: ConnectionRecords;
  readonly #writer: FrameWriter;
  readonly #flow: ReadFlow;
  readonly #decoder: FrameDecoder;
  readonly #link: SessionLink;
  readonly #snonce = newNonce();
  readonly #idle: IdleClock;
  #phase: Phase = { name: 'auth' };
  #processing = false;
  #authTimer: NodeJS.Timeout | undefined;
  #unwatchPeer: () => void = () => {};

  constructor(stream: Duplex, host: ConnectionHost, peer: Peer) {
    this.#stream = stream;
    this.#host = host;
    this.#peer = peer;
    this.#records = new ConnectionRecords(host, peer);
    this.#writer = new FrameWriter(stream, OUTPUT_HIGH_WATER_MARK);
    this.#flow = new ReadFlow(stream, this.#writer, (held) => this.#watchPeer(held));
    this.#decoder = new FrameDecoder((frame) => this.#onFrame(frame));
    const idleMs = host.options.idleTimeoutMs;
    const idleTimeout = (): void => this.#fail(new RexecError('IDLE_TIMEOUT', `idle for ${idleMs} ms`));
    this.#idle = new IdleClock(idleMs, () => this.running, idleTimeout);
    this.#link = {
      host,
      writer: this.#writer,
      flow: this.#flow,
      requestError: (error, id) => this.#requestError(error, id),
      activity: () => this.#idle.touch(),
    };
    stream.on('data', (chunk: Buffer) => this.#receive(chunk));
    stream.on('end', () => this.#close('client closed the connection'));
    stream.on('close', () => this.#close('connection closed'));
    stream.on('error', (error) => this.#records.socketError(error));
  }

  /**
   * Sends `hello` and starts the auth deadline, or admits at once when there is no auth.
   * Apart from the constructor so that the server has recorded the connection before it
   * can report anything (it may authenticate, or close, right here).
   */
  start(): void {
    const host = this.#host;
    const { options } = host;
    this.#writer.send(
      buildHello(options.auth, this.#snonce, host.version, host.helloShell, host.helloMaxConcurrent, host.ptySupported),
    );
    if (options.auth.mode === 'none') {
      this.#records.announce();
      this.#admit(DEFAULT_USER);
    } else {
      this.#authTimer = setTimeout(
        () => this.#fail(new RexecError('AUTH_TIMEOUT', `no valid auth within ${options.authTimeoutMs} ms`)),
        options.authTimeoutMs,
      );
    }
  }

  /** True once the connection has closed (possibly already in `start`). */
  get closed(): boolean {
    return this.#phase.name === 'closed';
  }

  /** Commands and file transfers running now. */
  get running(): number {
    return this.#phase.name === 'open' ? this.#phase.session.running : 0;
  }

  /**
   * Ends every running command (server shutdown); their `exit` frames are still sent.
   * Transfers still running are given up, each with a SHUTTING_DOWN error.
   */
  endCommands(): void {
    if (this.#phase.name === 'open') this.#phase.session.endCommands();
  }

  /** The server starts to shut down: transfers still opening get SHUTTING_DOWN now. */
  stopOpenings(): void {
    if (this.#phase.name === 'open') this.#phase.session.stopOpenings();
  }

  /**
   * Closes the connection politely at the server's shutdown: queued frames are flushed
   * first, and then the socket is closed without waiting for the peer to close its side
   * (section 6: the server exits as soon as nothing runs, whatever its clients do).
   */
  shutdown(): void {
    this.#close('server shutting down', true);
    if (!this.#stream.destroyed) this.#stream.once('finish', () => this.#stream.destroy());
  }

  #receive(chunk: Buffer): void {
    if (this.#phase.name === 'closed') return;
    this.#idle.touch();
    try {
      this.#decoder.push(chunk);
    } catch (error) {
      // Framing errors (section 2) take precedence over everything else. Only the
      // decoder throws here (#onFrame keeps what handling throws): the peer's bytes.
      if (error instanceof RexecError) this.#fail(error);
      else this.#internalError(error);
    }
  }

  #onFrame(frame: Frame): void {
    if (this.#phase.name === 'closed') return;
    try {
      this.#flow.push(frame);
      void this.#processQueue();
    } catch (error) {
      // A bug of ours, not the peer's: it must not come back as a PROTOCOL error.
      this.#internalError(error);
    }
  }

  // Frames are handled one at a time in arrival order; an exec's setup may wait on
  // the file system, and the frames behind it wait too.
  async #processQueue(): Promise<void> {
    if (this.#processing) return;
    this.#processing = true;
    try {
      for (let frame = this.#nextFrame(); frame !== undefined; frame = this.#nextFrame()) {
        const pending = this.#handle(frame);
        if (pending !== undefined) await pending;
        if (this.#flow.repliesPiledUp) this.#flow.update();
      }
    } catch (error) {
      this.#internalError(error);
    } finally {
      this.#processing = false;
      this.#flow.update();
    }
  }

  // Frames are taken while authenticating or open: not while failing, nor once closed.
  #nextFrame(): Frame | undefined {
    const { name } = this.#phase;
    return name === 'auth' || name === 'open' ? this.#flow.shift() : undefined;
  }

  #handle(frame: Frame): Pending {
    const phase = this.#phase;
    const { header } = frame;
    if (phase.name === 'open') return handleFrame(phase.session, frame);
    if (phase.name !== 'auth') return undefined;
    if (header.type !== 'auth') {
      this.#fail(new RexecError('AUTH_REQUIRED', `"${clip(header.type)}" before authentication`));
      return undefined;
    }
    let request: AuthRequest;
    try {
      request = parseAuth(header);
    } catch (error) {
      this.#requestError(error);
      return undefined;
    }
    this.#authenticate(request);
    return undefined;
  }

  #authenticate(request: AuthRequest): void {
    const { auth } = this.#host.options;
    if (auth.mode === 'none') return;
    const verdict = judgeAuth(request, auth.keys, this.#snonce, this.#host.authGuard, this.#peer.address);
    const name = request.user ?? null;
    if (verdict.kind === 'locked-out') {
      // Refused without a check, and said so (section 3); summarised, not announced.
      this.#records.lockedOut(name, verdict.message);
      this.#fail(new RexecError('AUTH_FAILED', verdict.message));
      return;
    }
    // A connection writes its `connect` line once it presents a proof.
    this.#records.announce();
    if (verdict.kind === 'failed') {
      this.#records.authFailed(name, 'wrong proof or unknown user');
      this.#failAfter(
        new RexecError('AUTH_FAILED', 'authentication failed: wrong key or unknown user'),
        verdict.delayMs,
      );
      return;
    }
    const { user, proof } = verdict.success;
    clearTimeout(this.#authTimer);
    this.#writer.send({ type: 'auth-ok', user, proof });
    this.#records.authenticated(clipText(user));
    this.#admit(user);
  }

  // A failed auth is answered after a delay that grows with the address's failures.
  #failAfter(error: RexecError, delayMs: number): void {
    if (delayMs <= 0) {
      this.#fail(error);
      return;
    }
    this.#phase = { name: 'failing', user: null };
    clearTimeout(this.#authTimer);
    this.#authTimer = setTimeout(() => this.#fail(error), delayMs);
  }

  // An authenticated user starts using the connection, unless the user has too many.
  #admit(user: string): void {
    const policy = this.#host.policyFor(user);
    const loggedUser = clipText(user);
    this.#host.connectionAuthenticated(this);
    const limit = policy.maxConnectionsPerUser;
    if (limit !== undefined && this.#host.users.connections(user) >= limit) {
      const rule = 'limits.maxConnectionsPerUser';
      const error = new RexecError(
        'TOO_MANY_CONNECTIONS',
        `${loggedUser} already has ${limit} connections (rule: ${rule})`,
        { rule },
      );
      this.#records.userRefused(loggedUser, error);
      this.#phase = { name: 'failing', user: loggedUser };
      this.#fail(error);
      return;
    }
    this.#phase = { name: 'open', session: new Session(this.#link, user, policy, this.#records.forUser(loggedUser)) };
    this.#idle.start();
  }

  #requestError(error: unknown, id?: number): void {
    const rexecError =
      error instanceof RexecError
        ? error
        : new RexecError(
            'SPAWN_FAILED',
            String((error as Error | undefined)?.message ?? error),
            id === undefined ? undefined : { id },
          );
    if (rexecError.fatal) this.#fail(rexecError);
    else this.#sendError(rexecError);
  }

  #sendError(error: RexecError): void {
    this.#writer.send(errorFrame(error));
    if (!error.fatal) this.#records.requestError(error);
  }

  /** A fatal error: say why, then close (section 8). */
  #fail(error: RexecError): void {
    if (this.#phase.name === 'closed') return;
    this.#records.fatal(error);
    this.#sendError(error);
    this.#close(error.code, true, error.message);
  }

  // A bug of ours while handling this connection's frames: it costs this connection,
  // never the server and everyone else's commands. No error frame: no code says "our fault".
  #internalError(error: unknown): void {
    this.#records.internalError(error);
    this.#close('internal error');
  }

  // While a hold keeps the socket unread, its end is not seen by reading: the kernel's
  // view of the connection says when the client has gone (peer-watch.ts).
  #watchPeer(held: boolean): void {
    this.#unwatchPeer();
    this.#unwatchPeer = () => {};
    if (held && this.#stream instanceof Socket) {
      this.#unwatchPeer = this.#host.peers.watch(this.#stream, () => this.#close('client closed the connection'));
    }
  }

  // Ends everything this connection started. `flush` lets queued frames go out first.
  #close(reason: string, flush = false, detail = reason): void {
    const phase = this.#phase;
    if (phase.name === 'closed') return;
    this.#phase = { name: 'closed' };
    clearTimeout(this.#authTimer);
    this.#unwatchPeer();
    this.#idle.stop();
    this.#flow.clear();
    if (phase.name === 'open') phase.session.close();
    if (flush && !this.#stream.destroyed) {
      this.#stream.end();
      setTimeout(() => this.#stream.destroy(), CLOSE_FLUSH_MS).unref();
    } else {
      this.#stream.destroy();
    }
    const user = phase.name === 'open' ? phase.session.records.user : phase.name === 'failing' ? phase.user : null;
    this.#records.closed(user, reason, detail);
    this.#host.connectionClosed(this);
  }
}
