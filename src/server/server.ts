// rexecd's listening socket and lifetime: connection limits (admission.ts), and the
// drain of section 6 (stop accepting, refuse new exec, let commands finish for the grace
// period, end the rest, close every connection once nothing runs).
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { realpathSync } from 'node:fs';
import { Connection } from './connection.js';
import type { ConnectionHost, UserCounters } from './connection.js';
import { homedir } from 'node:os';
import { noAudit } from './audit.js';
import type { AuditLog } from './audit.js';
import { AuthGuard, DEFAULT_AUTH_GUARD } from './auth-guard.js';
import { defaultMaxUnauthenticated, defaultMaxUnauthenticatedPerAddress } from './admission.js';
import type { AdmissionTicket } from './admission.js';
import { ConnectionGate } from './connection-gate.js';
import { DEFAULT_REFUSAL_TALLY } from './refusal-tally.js';
import { Refusals } from './refusals.js';
import { DEFAULT_USER } from './handshake.js';
import { loadLab } from './policy/load.js';
import { preflight } from './policy/preflight.js';
import { basePolicy } from './policy/user-policy.js';
import type { UserPolicy } from './policy/user-policy.js';
import { Deadlines } from './deadlines.js';
import { openLedger } from './ledger-file.js';
import type { GroupLedger } from './group-ledger.js';
import { baseEnvironment, ownAccount } from './environment.js';
import { isInside } from './paths.js';
import { silentLogger } from './logger.js';
import type { ServerLogger } from './logger.js';
import {
  DEFAULT_AUTH_TIMEOUT_MS,
  DEFAULT_GRACE_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_PORT,
  DEFAULT_TIMEOUT_MS,
} from './options.js';
import type { ResolvedServerOptions, ServerOptions } from './options.js';
import { VERSION } from '../common/version.js';
import { RexecError } from '../errors.js';
import { nodePtyInstalled } from '../common/lazy-modules.js';
import { resolveTlsSetting, TlsListener } from './tls-listener.js';
import { Confiner } from './confinement.js';
import type { ConfinementResult } from './confinement.js';
import { SHARED_PRINCIPAL } from './cgroups/limits.js';

/** Where a server listens. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Creates a server; `listen()` starts it. */
export function createServer(options: ServerOptions): RexecServer {
  return new RexecServer(resolveOptions(options));
}

/** A rexecd server. */
export class RexecServer implements ConnectionHost {
  readonly options: ResolvedServerOptions;
  readonly version = VERSION;
  readonly deadlines = new Deadlines();
  readonly authGuard: AuthGuard;
  readonly users = new PerUserCounts((user) => this.#principal(user));
  /** cgroups and OOM scores of commands (a cgroup subtree exists while listening). */
  readonly confiner: Confiner;
  readonly #environments = new WeakMap<UserPolicy, Readonly<Record<string, string>>>();
  readonly #server: Server;
  readonly #tls: TlsListener | undefined;
  /** Open connections, with their admission slots. */
  readonly #connections = new Map<Connection, AdmissionTicket>();
  readonly #gate: ConnectionGate;
  /** Repeated refusals, written once and then summarised. */
  readonly refusals: Refusals;
  #nextConnectionId = 1;
  #running = 0;
  #draining = false;
  #drained: Promise<void> | undefined;
  #settleDrain: (() => void) | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  #ledger: GroupLedger | undefined;

  constructor(options: ResolvedServerOptions) {
    this.options = options;
    this.authGuard = new AuthGuard(options.authGuard);
    this.refusals = new Refusals(options.audit, options.logger, { ...DEFAULT_REFUSAL_TALLY, intervalMs: options.refusalIntervalMs });
    this.#gate = new ConnectionGate(options, this.refusals);
    this.confiner = Confiner.forPolicies(options.lab.policies, options.logger);
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

  get logger(): ServerLogger {
    return this.options.logger;
  }

  get audit(): AuditLog {
    return this.options.audit;
  }

  get helloMaxConcurrent(): number {
    return this.options.lab.policyFor(DEFAULT_USER).maxConcurrent;
  }

  /** Whether node-pty is installed, so `exec.pty` works. */
  readonly ptySupported = nodePtyInstalled();

  get helloShell(): boolean {
    return this.options.lab.policies.some((policy) => policy.shell);
  }

  policyFor(user: string): UserPolicy {
    return this.options.lab.policyFor(user);
  }

  confine(user: string, policy: UserPolicy, id: number): ConfinementResult {
    return this.confiner.confine(this.#principal(user), policy, id);
  }

  // Per-user limits count principals: the owners of keys. With one shared key (no
  // users file) every client is the same principal, whatever user name it claims.
  #principal(user: string): string {
    return this.options.lab.keys === undefined ? SHARED_PRINCIPAL : user;
  }

  // HOME is the runAs account's own home when it lies inside the root (`rexecd adduser`
  // makes it the user's jail), so dotfiles such as ~/.local and histories stay the
  // user's; else sandboxed commands see the jail (nothing else is writable), others the
  // runAs account's home, or rexecd's own.
  environmentFor(policy: UserPolicy): Readonly<Record<string, string>> {
    let env = this.#environments.get(policy);
    if (env === undefined) {
      const home = ownHome(policy) ?? (policy.sandbox === 'bwrap' ? policy.root : (policy.runAs?.home ?? homedir()));
      const account = policy.runAs === undefined ? ownAccount() : { user: policy.runAs.user, shell: policy.runAs.shell };
      env = baseEnvironment(policy.searchPath, home, account);
      this.#environments.set(policy, env);
    }
    return env;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Connections open now, authenticated or not. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Commands running now on all connections. */
  get runningCount(): number {
    return this.#running;
  }

  /**
   * Starts listening; resolves with the bound address (port 0 picks a free one). The
   * cgroup subtree, if the policy needs one, is created first (CONFIG if it cannot be).
   */
  listen(): Promise<ListenAddress> {
    const listening =
      this.confiner.tree === undefined
        ? this.#listen()
        : this.confiner.start().then(() =>
            this.#listen().catch(async (error: unknown) => {
              await this.confiner.stop(0);
              throw error;
            }),
          );
    if (this.options.stateDir === undefined) return listening;
    return listening.then((address) => {
      this.#ledger = openLedger(this.options.stateDir as string, address, this.options.graceMs, this.logger);
      return address;
    });
  }

  /** A command's process group started (for the ledger, when there is one). */
  recordGroup(pgid: number): void {
    this.#ledger?.record(pgid);
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
      .then(() => this.refusals.close())
      .then(() => this.confiner.stop(this.options.graceMs))
      .then(() => this.#ledger?.close());
    return this.#drained;
  }

  commandCountChanged(delta: 1 | -1): void {
    this.#running += delta;
    if (this.#draining) this.#checkDrained();
  }

  connectionAuthenticated(connection: Connection): void {
    this.#connections.get(connection)?.authenticated();
  }

  connectionClosed(connection: Connection): void {
    this.#connections.get(connection)?.release();
    this.#connections.delete(connection);
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
    const connection = new Connection(socket, this, this.#nextConnectionId++);
    if (connection.closed) slot.release();
    else this.#connections.set(connection, slot);
  }
}

// The runAs account's home (real path) when it is inside the policy's root.
function ownHome(policy: UserPolicy): string | undefined {
  if (policy.runAs === undefined) return undefined;
  let real: string;
  try {
    real = realpathSync(policy.runAs.home);
  } catch {
    return undefined;
  }
  return isInside(policy.root, real) ? real : undefined;
}

function resolveOptions(options: ServerOptions): ResolvedServerOptions {
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const result = value ?? fallback;
    if (!Number.isInteger(result) || result <= 0) {
      throw new RexecError('CONFIG', `option ${name} must be a positive integer, not ${String(value)} (${typeof value})`);
    }
    return result;
  };
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RexecError('CONFIG', `option port must be an integer 0..65535, not ${String(options.port)}`);
  }
  const root = realRoot(options.root ?? process.cwd());
  const allowShell = options.allowShell ?? false;
  const timeoutMs = positive('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS);
  const maxConcurrent = positive('maxConcurrent', options.maxConcurrent, DEFAULT_MAX_CONCURRENT);
  const maxOutputBytes =
    options.maxOutputBytes === undefined ? undefined : positive('maxOutputBytes', options.maxOutputBytes, 0);
  const searchPath = options.searchPath === undefined ? undefined : checkSearchPath(options.searchPath);
  const base = basePolicy({ root, allowShell, timeoutMs, maxConcurrent, maxOutputBytes, ...(searchPath === undefined ? {} : { searchPath }) });
  const lab = loadLab(base, options.policyFile, options.usersFile);
  preflight(lab.policies, options.policyFile !== undefined || options.usersFile !== undefined);
  const maxConnections = lab.maxConnections ?? positive('maxConnections', options.maxConnections, DEFAULT_MAX_CONNECTIONS);
  const maxUnauthenticated = positive('maxUnauthenticated', options.maxUnauthenticated, defaultMaxUnauthenticated(maxConnections));
  if (maxUnauthenticated > maxConnections) {
    throw new RexecError('CONFIG', `option maxUnauthenticated (${maxUnauthenticated}) must not be over maxConnections (${maxConnections})`);
  }
  let auth = options.auth;
  if (lab.keys !== undefined) {
    if (auth.mode === 'none') throw new RexecError('CONFIG', 'a users file needs authentication: do not combine it with no auth');
    auth = { mode: 'hmac-sha256', keys: lab.keys };
  }
  if (auth.mode === 'hmac-sha256' && auth.keys.has('*')) {
    throw new RexecError('CONFIG', 'option auth.keys: a shared key belongs to the user "default", not "*"');
  }
  if (auth.mode === 'hmac-sha256' && auth.keys.size === 0) {
    throw new RexecError('CONFIG', 'option auth.keys must hold at least one key');
  }
  return {
    auth,
    host: options.host ?? '127.0.0.1',
    port,
    root,
    allowShell,
    timeoutMs,
    maxConnections,
    maxUnauthenticated,
    maxUnauthenticatedPerAddress: positive(
      'maxUnauthenticatedPerAddress',
      options.maxUnauthenticatedPerAddress,
      defaultMaxUnauthenticatedPerAddress(maxUnauthenticated),
    ),
    maxConcurrent,
    idleTimeoutMs: positive('idleTimeoutMs', options.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS),
    authTimeoutMs: positive('authTimeoutMs', options.authTimeoutMs, DEFAULT_AUTH_TIMEOUT_MS),
    graceMs: positive('graceMs', options.graceMs, DEFAULT_GRACE_MS),
    maxOutputBytes,
    logger: options.logger ?? silentLogger,
    lab,
    audit: options.audit ?? noAudit,
    authGuard: options.authGuard ?? DEFAULT_AUTH_GUARD,
    refusalIntervalMs: positive('refusalIntervalMs', options.refusalIntervalMs, DEFAULT_REFUSAL_TALLY.intervalMs),
    tls: options.tls === undefined ? undefined : resolveTlsSetting(options.tls),
    stateDir: options.stateDir,
  };
}

/** Connections and running commands per user name. */
class PerUserCounts implements UserCounters {
  readonly #counts = new Map<string, { connections: number; running: number }>();
  readonly #principal: (user: string) => string;

  constructor(principal: (user: string) => string) {
    this.#principal = principal;
  }

  connections(user: string): number {
    return this.#counts.get(this.#principal(user))?.connections ?? 0;
  }

  running(user: string): number {
    return this.#counts.get(this.#principal(user))?.running ?? 0;
  }

  change(user: string, what: 'connections' | 'running', delta: 1 | -1): void {
    const key = this.#principal(user);
    const counts = this.#counts.get(key) ?? { connections: 0, running: 0 };
    counts[what] += delta;
    if (counts.connections === 0 && counts.running === 0) this.#counts.delete(key);
    else this.#counts.set(key, counts);
  }
}

// The root's real path; CONFIG when it cannot be resolved (missing, unreadable).
function realRoot(dir: string): string {
  try {
    return realpathSync(dir);
  } catch (error) {
    throw new RexecError('CONFIG', `option root: ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

// The operator's search path: absolute directories, each a PATH entry on its own.
function checkSearchPath(dirs: readonly string[]): readonly string[] {
  if (dirs.length === 0) throw new RexecError('CONFIG', 'option searchPath must name at least one directory');
  for (const dir of dirs) {
    if (!dir.startsWith('/') || dir.includes(':') || dir.includes('\0')) {
      throw new RexecError('CONFIG', `search path (--path): ${JSON.stringify(dir)} is not an absolute directory without ":"`);
    }
  }
  return dirs;
}
