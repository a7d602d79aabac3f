// rexecd's settings and their documented defaults (docs/protocol.md sections 3-6).
import type { ServerLogger } from './logger.js';
import type { AuditLog } from './audit.js';
import type { AuthGuardSettings } from './auth-guard.js';
import type { LabSetup } from './policy/load.js';
import type { ResolvedTlsSetting, TlsSetting } from './tls-listener.js';

/** Default TCP port. */
export const DEFAULT_PORT = 7077;
/** Default and maximum run time of a command, ms. */
export const DEFAULT_TIMEOUT_MS = 600_000;
/** Connections at once, authenticated or not (section 6). */
export const DEFAULT_MAX_CONNECTIONS = 256;
/**
 * Connections still authenticating, in total (by default half of maxConnections) and from
 * one address (by default 8, or a quarter of the total if less): see admission.ts.
 */
export { defaultMaxUnauthenticated, defaultMaxUnauthenticatedPerAddress } from './admission.js';
/** Running commands per connection. */
export const DEFAULT_MAX_CONCURRENT = 16;
/** A connection with nothing running is closed after this long without a frame (section 6). */
export const DEFAULT_IDLE_TIMEOUT_MS = 300_000;
/** A connection must authenticate within this long (section 3). */
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;
/** Between SIGTERM and SIGKILL when a process group is ended (section 6). */
export const DEFAULT_GRACE_MS = 2_000;
/**
 * Output queued on a connection's socket before the server stops reading the
 * processes' pipes (section 5). Bounds memory per connection.
 */
export const OUTPUT_HIGH_WATER_MARK = 512 * 1024;
/**
 * Replies queued on a socket (pongs, errors) past which the server stops reading that
 * connection's requests: a client that sends but never reads cannot grow the server's
 * memory. Above OUTPUT_HIGH_WATER_MARK so that output alone never reaches it, and a
 * signal frame still gets through while output is backed up.
 */
export const REPLY_HARD_LIMIT = 4 * 1024 * 1024;
/** Body bytes of decoded frames waiting to be handled before the server stops reading. */
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** Decoded frames waiting to be handled before the server stops reading the socket. */
export const MAX_QUEUED_FRAMES = 256;

/** How clients prove who they are. */
export type AuthSetting =
  | { readonly mode: 'none' }
  | {
      readonly mode: 'hmac-sha256';
      /** User name → key text. One shared key is the user `default` (section 3). */
      readonly keys: ReadonlyMap<string, string>;
    };

/** What `createServer` accepts; every field but `auth` has a default. */
export interface ServerOptions {
  readonly auth: AuthSetting;
  readonly host?: string;
  readonly port?: number;
  /** Commands run here by default; every cwd must resolve inside it. Default: process.cwd(). */
  readonly root?: string;
  /** Whether `command` (sh -c) requests are allowed. Default false. */
  readonly allowShell?: boolean;
  /**
   * The search path: commands' PATH and the only directories argv[0] is looked up in
   * (absolute directories; a policy's `path` wins for its users). Default SEARCH_PATH.
   */
  readonly searchPath?: readonly string[];
  readonly timeoutMs?: number;
  readonly maxConnections?: number;
  /** Connections at once that have not authenticated yet. Default: half of maxConnections. */
  readonly maxUnauthenticated?: number;
  /** Of those, from one address. Default 8, or a quarter of maxUnauthenticated if less. */
  readonly maxUnauthenticatedPerAddress?: number;
  readonly maxConcurrent?: number;
  readonly idleTimeoutMs?: number;
  readonly authTimeoutMs?: number;
  readonly graceMs?: number;
  /** Per-stream output cap; reaching it ends the process group (`truncated`). Default: none. */
  readonly maxOutputBytes?: number;
  readonly logger?: ServerLogger;
  /** Lab policy file (lab.json): rules that override the flags above. */
  readonly policyFile?: string;
  /** Users file (users.json): one key per user, with per-user overrides. */
  readonly usersFile?: string;
  /** Where audit events go (default: nowhere). */
  readonly audit?: AuditLog;
  /** Lockout of names and addresses that keep failing authentication. */
  readonly authGuard?: AuthGuardSettings;
  /** Repeated refusals are written once and then summarised every this many ms. Default 10000. */
  readonly refusalIntervalMs?: number;
  /** Serve TLS instead of plain TCP (same protocol inside). Default: plain TCP. */
  readonly tls?: TlsSetting;
  /**
   * Keep a ledger of the process groups started here, in a file of this directory named
   * by the listening address: a server started again on that address ends what a killed
   * predecessor left running (group-ledger.ts). Default: no ledger.
   */
  readonly stateDir?: string;
}

/** Options with every default filled in. */
export interface ResolvedServerOptions {
  readonly auth: AuthSetting;
  readonly host: string;
  readonly port: number;
  readonly root: string;
  readonly allowShell: boolean;
  readonly timeoutMs: number;
  readonly maxConnections: number;
  readonly maxUnauthenticated: number;
  readonly maxUnauthenticatedPerAddress: number;
  readonly maxConcurrent: number;
  readonly idleTimeoutMs: number;
  readonly authTimeoutMs: number;
  readonly graceMs: number;
  readonly maxOutputBytes: number | undefined;
  readonly logger: ServerLogger;
  readonly lab: LabSetup;
  readonly audit: AuditLog;
  readonly authGuard: AuthGuardSettings;
  readonly refusalIntervalMs: number;
  readonly tls: ResolvedTlsSetting | undefined;
  readonly stateDir: string | undefined;
}
