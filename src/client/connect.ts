// Opening a client: the socket (TCP, or whatever a socket factory supplies, e.g. TLS),
// then the handshake, all within one deadline.
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { RexecError } from '../errors.js';
import { DEFAULT_HOST, DEFAULT_PORT, DEFAULT_USER } from '../protocol/constants.js';
import { RexecClient } from './client.js';
import { FrameConnection } from './connection.js';
import { DEFAULT_HELLO_TIMEOUT_MS, watchGreeting } from './greeting.js';
import { Handshake } from './handshake.js';
import type { HandshakeResult } from './handshake.js';
import { tlsFailure } from './tls-failure.js';

/** How long connecting and the handshake may take together, by default. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Makes a connected (or connecting) byte stream to the server, e.g. a TLS socket.
 * `signal` aborts when connect()'s deadline passes: whatever the factory still has
 * pending must then be dropped. A RexecError it throws is passed on as it is.
 */
export type SocketFactory = (
  target: { host: string; port: number },
  options?: { signal?: AbortSignal },
) => Duplex | FactorySocket | Promise<Duplex | FactorySocket>;

/**
 * A factory's stream with what to do once the handshake has succeeded (the server
 * proved it knows the key): e.g. record a certificate trusted on first use, which a
 * server that fails to authenticate must never get recorded.
 */
export interface FactorySocket {
  readonly socket: Duplex;
  /** Runs after a successful handshake; a RexecError it rejects with fails connect() with it. */
  readonly onAuthenticated: () => Promise<void>;
}

/** How to reach and authenticate to a server. */
export interface ConnectOptions {
  /** Server host name or address (default 127.0.0.1). */
  readonly host?: string;
  /** Server port (default 7077). */
  readonly port?: number;
  /** The shared secret's text; may be left out only for a server without auth. */
  readonly key?: string;
  /** The user the key belongs to (default "default"). */
  readonly user?: string;
  /** Deadline for connecting plus the handshake, in ms (default 10000). */
  readonly connectTimeoutMs?: number;
  /**
   * Accept a server that says it does not authenticate (auth "none") even though a key
   * was given. Off by default: such a server cannot prove it knows the key, so anyone
   * in the middle could pose as it.
   */
  readonly allowNoAuth?: boolean;
  /** Opens the byte stream instead of a plain TCP connection (e.g. for TLS). */
  readonly socketFactory?: SocketFactory;
  /**
   * Plain TCP only: how long to wait for the server's first bytes once connected
   * (default 2000 ms). A rexecd says hello at once; a TLS server says nothing until the
   * client speaks. Past it, or as soon as the first bytes look like TLS, connect()
   * rejects with a NoGreetingError (code CONNECT_FAILED).
   */
  readonly helloTimeoutMs?: number;
}

/**
 * Connects, checks the server's protocol version, authenticates both ways and resolves
 * with a client. Rejects with a RexecError: CONNECT_FAILED when the server cannot be
 * reached in time, the server's code (AUTH_FAILED, TOO_MANY_CONNECTIONS, ...),
 * SERVER_PROOF, UNSUPPORTED_VERSION, KEY_FILE (no key for a server that needs one) or
 * CONNECTION_CLOSED. A refusal the server calls momentary (TOO_MANY_CONNECTIONS with
 * `retryMs`) is tried again, with growing waits, until the deadline.
 */
export async function connect(options: ConnectOptions = {}): Promise<RexecClient> {
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? DEFAULT_PORT;
  const user = options.user ?? DEFAULT_USER;
  const deadline = new Deadline(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, `${host}:${port}`);
  // The last momentary refusal: when time runs out while trying again, it is what the
  // caller is told (the server answered; "no answer" would be untrue).
  let refusal: RexecError | undefined;
  try {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await connectOnce(options, host, port, user, deadline);
      } catch (error) {
        if (deadline.expired && refusal !== undefined) throw refusal;
        const wait = retryDelay(error, attempt, deadline.remainingMs);
        if (wait === undefined) throw error;
        refusal = error as RexecError;
        // Within the deadline: retryDelay leaves time for a try after the wait.
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  } finally {
    deadline.clear();
  }
}

// The longest wait between two tries, and the least time worth trying again with.
const MAX_RETRY_WAIT_MS = 1000;
const MIN_TRY_MS = 100;

/**
 * How long to wait before trying again, or undefined not to: only when the server said
 * its refusal is momentary (TOO_MANY_CONNECTIONS with `retryMs`: too many connections
 * still authenticating, e.g. a burst of clients behind one address), or a TLS server
 * closed the connection before its handshake (CONNECT_FAILED with `retryMs`: rexecd
 * refuses that way over TLS, where no frame can be sent yet), and time is left.
 * The wait doubles with each try, with jitter so that a burst spreads out.
 */
export function retryDelay(
  error: unknown,
  attempt: number,
  remainingMs: number,
  random = Math.random,
): number | undefined {
  if (!(error instanceof RexecError) || error.retryMs === undefined) return undefined;
  // CONNECT_FAILED never comes from the wire: only the TLS factory sets its retryMs.
  if (error.code !== 'TOO_MANY_CONNECTIONS' && error.code !== 'CONNECT_FAILED') return undefined;
  const base = Math.min(Math.max(error.retryMs, 10) * 2 ** Math.min(attempt, 10), MAX_RETRY_WAIT_MS);
  const wait = Math.round(base * (0.5 + random() / 2));
  return wait + MIN_TRY_MS <= remainingMs ? wait : undefined;
}

async function connectOnce(
  options: ConnectOptions,
  host: string,
  port: number,
  user: string,
  deadline: Deadline,
): Promise<RexecClient> {
  const { socket, onAuthenticated } = await deadline.race(openSocket(options.socketFactory, host, port, deadline));
  const connection = new FrameConnection(socket, { onMessage() {}, onClose() {} });
  const stopWatching =
    options.socketFactory === undefined
      ? watchGreeting(socket, options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS, `${host}:${port}`, (error) =>
          connection.fail(error),
        )
      : () => {};
  let handshake!: Handshake;
  const result = await deadline
    .race(
      new Promise<HandshakeResult>((resolve, reject) => {
        const handshakeOptions = { key: options.key, user, allowNoAuth: options.allowNoAuth ?? false };
        handshake = new Handshake(connection, handshakeOptions, (outcome) =>
          'error' in outcome ? reject(outcome.error) : resolve(outcome.result),
        );
        connection.setHandler(handshake);
      }),
    )
    .catch((error: unknown) => {
      // A socket from a factory may still be connecting: its failure is a connect failure.
      const cause = error instanceof RexecError ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
      if (!handshake.helloReceived && cause?.code !== undefined) throw connectFailed(host, port, cause);
      throw error;
    })
    .finally(stopWatching);
  const { protocol, server, auth, shell, files, pty, stdinWindow, limits } = result.hello;
  // The client takes the connection over at once, so that nothing it receives is lost.
  const client = new RexecClient({
    connection,
    hello: {
      protocol,
      server,
      auth,
      shell,
      files,
      pty,
      limits,
      ...(stdinWindow === undefined ? {} : { stdinWindow }),
    },
    user,
    authenticated: result.authenticated,
  });
  if (onAuthenticated !== undefined) {
    try {
      await deadline.race(onAuthenticated());
    } catch (error) {
      const failure =
        error instanceof RexecError ? error : new RexecError('CONNECT_FAILED', String(error), { cause: error });
      connection.fail(failure);
      await client.closed;
      throw failure;
    }
  }
  return client;
}

async function openSocket(
  factory: SocketFactory | undefined,
  host: string,
  port: number,
  deadline: Deadline,
): Promise<{ socket: Duplex; onAuthenticated?: () => Promise<void> }> {
  if (factory !== undefined) {
    let opened: Duplex | FactorySocket;
    try {
      opened = await factory({ host, port }, { signal: deadline.signal });
    } catch (error) {
      if (error instanceof RexecError) throw error;
      throw connectFailed(host, port, error);
    }
    // A stream has `on`; a FactorySocket is a plain object around one.
    const result = 'on' in opened ? { socket: opened } : opened;
    deadline.track(result.socket);
    return result;
  }
  return new Promise((resolve, reject) => {
    const socket: Socket = netConnect({ host, port });
    deadline.track(socket);
    socket.setNoDelay(true);
    const onError = (error: Error): void => reject(connectFailed(host, port, error));
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve({ socket });
    });
  });
}

/** CONNECT_FAILED with the reason in words and what to check (TLS for a TLS failure). */
function connectFailed(host: string, port: number, error: unknown): RexecError {
  const tls = tlsFailure(host, port, error);
  if (tls !== undefined) return tls;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = REASONS[code ?? ''] ?? (code || String((error as Error | undefined)?.message ?? error));
  return new RexecError(
    'CONNECT_FAILED',
    `cannot connect to ${host}:${port} (${reason}): is rexecd running on ${host}:${port}?`,
    { cause: error },
  );
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
};

/**
 * One timer for the whole connect: whatever is pending when it fires fails with
 * CONNECT_FAILED, and the socket it tracks is destroyed.
 */
class Deadline {
  readonly #timer: NodeJS.Timeout;
  readonly #expired: Promise<never>;
  #socket: Duplex | undefined;
  #fired = false;
  readonly #abort = new AbortController();
  readonly #endsAt: number;

  constructor(ms: number, target: string) {
    this.#endsAt = Date.now() + ms;
    let fire!: (error: RexecError) => void;
    this.#expired = new Promise((_, reject) => (fire = reject));
    this.#expired.catch(() => undefined);
    this.#timer = setTimeout(() => {
      this.#fired = true;
      this.#socket?.destroy();
      this.#abort.abort();
      fire(
        new RexecError(
          'CONNECT_FAILED',
          `cannot connect to ${target} (no answer within ${ms} ms): is rexecd running there, and reachable?`,
        ),
      );
    }, ms);
  }

  race<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.#expired]);
  }

  /** True once time has run out. */
  get expired(): boolean {
    return this.#fired;
  }

  /** Time left, in ms. */
  get remainingMs(): number {
    return this.#fired ? 0 : this.#endsAt - Date.now();
  }

  /** Aborts when time runs out. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** The socket to destroy when time runs out (at once if it already has). */
  track(socket: Duplex): void {
    this.#socket = socket;
    if (this.#fired) socket.destroy();
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}
