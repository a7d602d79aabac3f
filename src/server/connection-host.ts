// What a connection needs from its server: settings, the shared guards and counters, the
// policy of each user, and the calls by which it reports its life. The server hands each
// connection a private object of this shape; nothing of it is on the exported class.
import type { PeerWatch } from './peer-watch.js';
import type { AuditLog } from './audit.js';
import type { AuthGuard } from './auth-guard.js';
import type { ConfinementResult } from './confinement.js';
import type { Connection } from './connection.js';
import type { Deadlines } from './deadlines.js';
import type { ServerLogger } from './logger.js';
import type { ResolvedServerOptions } from './options.js';
import type { UserPolicy } from './policy/user-policy.js';
import type { Refusals } from './refusals.js';

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly options: ResolvedServerOptions;
  readonly version: string;
  readonly draining: boolean;
  readonly logger: ServerLogger;
  readonly audit: AuditLog;
  readonly authGuard: AuthGuard;
  /** Refusals a client can repeat (lockouts, closes before auth, refused requests): summarised. */
  readonly refusals: Refusals;
  /** The server's shared timer for command timeouts. */
  readonly deadlines: Deadlines;
  /** Tells when the client of a connection rexecd is not reading has gone. */
  readonly peers: PeerWatch;
  /** `hello.limits.maxConcurrent`: the policy before anyone has authenticated. */
  readonly helloMaxConcurrent: number;
  /** `hello.shell`: whether any user may send shell commands (each is still checked). */
  readonly helloShell: boolean;
  /** `hello.pty`: whether commands can run on a pseudo-terminal here. */
  readonly ptySupported: boolean;
  /** The rules for a user. */
  policyFor(user: string): UserPolicy;
  /** The cgroup and OOM score a process of the user gets; release the lease once it has exited. */
  confine(user: string, policy: UserPolicy, id: number): ConfinementResult;
  /** The base environment (PATH, HOME, LANG, ...) of a policy's commands. */
  environmentFor(policy: UserPolicy): Readonly<Record<string, string>>;
  /** Per-user counts across connections. */
  readonly users: UserCounters;
  /** A command or transfer of a connection started (+1) or finished (-1). */
  commandCountChanged(delta: 1 | -1): void;
  /** A command's process group started (the ledger of groups to end after a crash). */
  recordGroup(pgid: number, started?: number): void;
  /** A group whose leader exited while others of it run on (the ledger records them). */
  recordGroupMembers(pgid: number): void;
  /** The connection has authenticated (or needs no auth): it leaves the unauthenticated count. */
  connectionAuthenticated(connection: Connection): void;
  /** The connection has closed and ended its processes. */
  connectionClosed(connection: Connection): void;
}

/** Connections and running commands per user, across the server. */
export interface UserCounters {
  connections(user: string): number;
  running(user: string): number;
  change(user: string, what: 'connections' | 'running', delta: 1 | -1): void;
}
