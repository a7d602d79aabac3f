// What the server shares with its connections (connection-host.ts): the guards and
// counters of the whole server, each user's policy, cgroup and environment. The server
// keeps one of these private and hands it to each connection; it reports back through
// the server's own hooks (ServerHooks), so nothing of it is on the exported class.
import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { nodePtyInstalled } from '../common/lazy-modules.js';
import { VERSION } from '../common/version.js';
import type { AuditLog } from './audit.js';
import { AuthGuard } from './auth-guard.js';
import { SHARED_PRINCIPAL } from './cgroups/limits.js';
import { Confiner } from './confinement.js';
import type { ConfinementResult } from './confinement.js';
import type { Connection } from './connection.js';
import type { ConnectionHost } from './connection-host.js';
import { Deadlines } from './deadlines.js';
import { PeerWatch } from './peer-watch.js';
import { baseEnvironment, ownAccount } from './environment.js';
import { DEFAULT_USER } from './handshake.js';
import type { ServerLogger } from './logger.js';
import type { ResolvedServerOptions } from './options.js';
import { isInside } from './paths.js';
import type { UserPolicy } from './policy/user-policy.js';
import { DEFAULT_REFUSAL_TALLY } from './refusal-tally.js';
import { Refusals } from './refusals.js';
import { PerUserCounts } from './user-counts.js';

/** What connections report to the server, and whether it is draining. */
export interface ServerHooks {
  readonly draining: boolean;
  commandCountChanged(delta: 1 | -1): void;
  recordGroup(pgid: number, started?: number): void;
  recordGroupMembers(pgid: number): void;
  connectionAuthenticated(connection: Connection): void;
  connectionClosed(connection: Connection): void;
}

/** One server's state shared by its connections. */
export class ServerHost implements ConnectionHost {
  readonly options: ResolvedServerOptions;
  readonly version = VERSION;
  readonly deadlines = new Deadlines();
  readonly peers = new PeerWatch();
  readonly authGuard: AuthGuard;
  /** Repeated refusals, written once and then summarised. */
  readonly refusals: Refusals;
  /** cgroups and OOM scores of commands (a cgroup subtree exists while listening). */
  readonly confiner: Confiner;
  readonly users = new PerUserCounts((user) => this.#principal(user));
  /** Whether node-pty is installed, so `exec.pty` works. */
  readonly ptySupported = nodePtyInstalled();
  readonly #hooks: ServerHooks;
  readonly #environments = new WeakMap<UserPolicy, Readonly<Record<string, string>>>();

  constructor(options: ResolvedServerOptions, hooks: ServerHooks) {
    this.options = options;
    this.#hooks = hooks;
    this.authGuard = new AuthGuard(options.authGuard);
    this.refusals = new Refusals(options.audit, options.logger, {
      ...DEFAULT_REFUSAL_TALLY,
      intervalMs: options.refusalIntervalMs,
    });
    this.confiner = Confiner.forPolicies(options.lab.policies, options.logger);
  }

  get logger(): ServerLogger {
    return this.options.logger;
  }

  get audit(): AuditLog {
    return this.options.audit;
  }

  get draining(): boolean {
    return this.#hooks.draining;
  }

  get helloMaxConcurrent(): number {
    return this.options.lab.policyFor(DEFAULT_USER).maxConcurrent;
  }

  get helloShell(): boolean {
    return this.options.lab.policies.some((policy) => policy.shell);
  }

  policyFor(user: string): UserPolicy {
    return this.options.lab.policyFor(user);
  }

  confine(user: string, policy: UserPolicy, id: number): ConfinementResult {
    return this.confiner.confine(this.#principal(user), policy, id);
  }

  // HOME is the runAs account's own home when it lies inside the root (`rexecd adduser`
  // makes it the user's jail), so dotfiles such as ~/.local and histories stay the
  // user's; else sandboxed commands see the jail (nothing else is writable), others the
  // runAs account's home, or rexecd's own.
  environmentFor(policy: UserPolicy): Readonly<Record<string, string>> {
    let env = this.#environments.get(policy);
    if (env === undefined) {
      const home = ownHome(policy) ?? (policy.sandbox === 'bwrap' ? policy.root : (policy.runAs?.home ?? homedir()));
      const account =
        policy.runAs === undefined ? ownAccount() : { user: policy.runAs.user, shell: policy.runAs.shell };
      env = baseEnvironment(policy.searchPath, home, account);
      this.#environments.set(policy, env);
    }
    return env;
  }

  commandCountChanged(delta: 1 | -1): void {
    this.#hooks.commandCountChanged(delta);
  }

  recordGroup(pgid: number, started?: number): void {
    this.#hooks.recordGroup(pgid, started);
  }

  recordGroupMembers(pgid: number): void {
    this.#hooks.recordGroupMembers(pgid);
  }

  connectionAuthenticated(connection: Connection): void {
    this.#hooks.connectionAuthenticated(connection);
  }

  connectionClosed(connection: Connection): void {
    this.#hooks.connectionClosed(connection);
  }

  // Per-user limits count principals: the owners of keys. With one shared key (no
  // users file) every client is the same principal, whatever user name it claims.
  #principal(user: string): string {
    return this.options.lab.keys === undefined ? SHARED_PRINCIPAL : user;
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
