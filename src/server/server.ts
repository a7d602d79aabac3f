// rexecd's listening socket and lifetime: connection limits (admission.ts), and the
// drain of section 6 (stop accepting, refuse new exec, let commands finish for the grace
// period, end the rest, close every connection once nothing runs). What connections
// share is a private ServerHost (server-host.ts), not part of this class.
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { VERSION } from '../common/version.js';
import type { AdmissionTicket } from './admission.js';
import { normalizeAddress } from './admission.js';
import { Connection } from './connection.js';
import { ConnectionGate } from './connection-gate.js';
import type { GroupLedger } from './group-ledger.js';
import { openLedger } from './ledger-file.js';
import type { ResolvedServerOptions, ServerOptions } from './options.js';
import type { UserPolicy } from './policy/user-policy.js';
import { resolveOptions } from './resolve-options.js';
import { ServerHost } from './server-host.js';
import { TlsListener } from './tls-listener.js';

/** Where a server listens. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Creates a server; `listen()` starts it. Throws CONFIG for options that cannot be used. */
export function createServer(options: ServerOptions): RexecServer {
  return new RexecServer(resolveOptions(options));
}

/** A rexecd server. */
export class RexecServer {
  readonly options: ResolvedServerOptions;
  readonly version = VERSION;
  readonly #host: ServerHost;
  readonly #server: Server;
  readonly #tls: TlsListener | undefined;
  /** Open connections, with their admission slots. */
  readonly #connections = new Map<Connection, AdmissionTicket>();
  readonly #gate: ConnectionGate;
  #nextConnectionId = 1;
  #running = 0;
  #draining = false;
  #drained: Promise<void> | undefined;
  #settleDrain: (() => void) | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  #ledger: GroupLedger | undefined;

  constructor(options: ResolvedServerOptions) {
    this.options = options;
    // The host reads `draining` through a getter, which has its own `this`.
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- see above
    const server = this;
    this.#host = new ServerHost(options, {
      get draining() {
        return server.#draining;
      },
      commandCountChanged: (delta) => this.#commandCountChanged(delta),
      recordGroup: (pgid, started) => this.#ledger?.record(pgid, started),
      recordGroupMembers: (pgid) => this.#ledger?.recordMembers(pgid),
      connectionAuthenticated: (connection) => this.#connections.get(connection)?.authenticated(),
      connectionClosed: (connection) => {
        this.#connections.get(connection)?.release();
        this.#connections.delete(connection);
      },
    });
    this.#gate = new ConnectionGate(options, this.#host.refusals);
    if (options.tls === undefined) {
      this.#server = createNetServer({ noDelay: true }, (socket) => this.#accept(socket));
    } else {
      // Same protocol inside TLS: a connection is accepted once its handshake is done, and
      // counts as unauthenticated from its first TCP byte.
      this.#tls = new TlsListener(
        options.tls,
        (socket) => (this.#draining ? undefined : this.#gate.enterHandshake(socket)),
        options.logger,
        (socket, ticket) => this.#accept(socket, ticket),
      );
      this.#server = this.#tls.server;
    }
  }

  /** `hello.shell`: whether any user may send shell commands. */
  get helloShell(): boolean {
    return this.#host.helloShell;
  }

  /** The rules in force for a user. */
  policyFor(user: string): UserPolicy {
    return this.#host.policyFor(user);
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Connections open now, authenticated or not. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Commands and transfers running now on all connections. */
  get runningCount(): number {
    return this.#running;
  }

  /**
   * Starts listening; resolves with the bound address (port 0 picks a free one). The
   * cgroup subtree, if the policy needs one, is created first (CONFIG if it cannot be).
   */
  listen(): Promise<ListenAddress> {
    const { confiner } = this.#host;
    const listening =
      confiner.tree === undefined
        ? this.#listen()
        : confiner.start().then(() =>
            this.#listen().catch(async (error: unknown) => {
              await confiner.stop(0);
              throw error;
            }),
          );
    const { stateDir } = this.options;
    if (stateDir === undefined) return listening;
    return listening.then((address) => {
      this.#ledger = openLedger(stateDir, address, this.options.graceMs, this.options.logger);
      return address;
    });
  }

  #listen(): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#server.once('error', onError);
      this.#server.listen({ host: this.options.host, port: this.options.port }, () => {
        this.#server.off('error', onError);
        const address = this.#server.address() as AddressInfo;
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  /**
   * Section 6 shutdown: stop listening, refuse new exec, give running commands the
   * grace period, then end them (SIGTERM, SIGKILL after another grace period), and
   * close every connection once nothing runs. Resolves when all is closed.
   */
  shutdown(): Promise<void> {
    if (this.#drained !== undefined) return this.#drained;
    this.#draining = true;
    this.#tls?.destroyHandshakes();
    // Resolves once the listener and every connection are closed.
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const idle = new Promise<void>((resolve) => {
      this.#settleDrain = resolve;
    });
    for (const connection of this.#connections.keys()) connection.stopOpenings();
    if (this.#running > 0) {
      this.#graceTimer = setTimeout(() => {
        for (const connection of this.#connections.keys()) connection.endCommands();
      }, this.options.graceMs);
    }
    this.#checkDrained();
    // Summaries still pending are written before the server says it has stopped; once
    // everything is closed, what is left in the cgroups gets the grace period.
    this.#drained = idle
      .then(() => closed)
      .then(() => this.#host.refusals.close())
      .then(() => this.#host.confiner.stop(this.options.graceMs))
      .then(() => this.#ledger?.close());
    return this.#drained;
  }

  #commandCountChanged(delta: 1 | -1): void {
    this.#running += delta;
    if (this.#draining) this.#checkDrained();
  }

  // Once nothing runs during a drain: close every connection (flushing exit frames).
  #checkDrained(): void {
    const settle = this.#settleDrain;
    if (this.#running > 0 || settle === undefined) return;
    this.#settleDrain = undefined;
    clearTimeout(this.#graceTimer);
    for (const connection of [...this.#connections.keys()]) connection.shutdown();
    settle();
  }

  // `ticket`: the slot a TLS connection took before its handshake.
  #accept(socket: Socket, ticket?: AdmissionTicket): void {
    socket.on('error', () => {});
    if (this.#draining) {
      ticket?.release();
      socket.destroy();
      return;
    }
    const slot = this.#gate.enter(socket, ticket);
    if (slot === undefined) return;
    socket.setNoDelay(true);
    const peer = {
      conn: this.#nextConnectionId++,
      remote: `${socket.remoteAddress}:${socket.remotePort}`,
      address: normalizeAddress(socket.remoteAddress),
    };
    const connection = new Connection(socket, this.#host, peer);
    // Recorded first: a connection without auth is admitted (and may close) in start().
    this.#connections.set(connection, slot);
    connection.start();
  }
}
