// `rexecd` serving: flags → server options, the one "listening" line on stdout, logs on
// stderr, and a clean drain on SIGTERM/SIGINT (or after a bug of ours).
import { realpath, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureKeyFile } from '../../common/key-file.js';
import { isLoopback } from '../../common/loopback.js';
import { RexecError } from '../../errors.js';
import { DEFAULT_USER } from '../../protocol/constants.js';
import {
  closeInheritedDescriptors,
  createAuditLog,
  createServer,
  protectFromOomKiller,
  VERSION,
} from '../../server/index.js';
import type { AuthSetting } from '../../server/index.js';
import { REXECD_STATUS_ERROR, REXECD_STATUS_INTERNAL, REXECD_STATUS_USAGE } from '../shared/exit-status.js';
import { printRexecdError } from './io.js';
import { isSystemError } from './user-errors.js';
import type { RexecdIo } from './io.js';
import { createStderrLogger } from './stderr-logger.js';
import type { LogLevel } from './stderr-logger.js';
import { serveTlsSetting } from './tls-options.js';
import type { ServeTlsFlags } from './tls-options.js';

/** The flags of `rexecd` (serving). */
export interface ServeFlags extends ServeTlsFlags {
  host: string;
  port: number;
  keyFile: string;
  auth: boolean;
  root: string;
  allowShell: boolean;
  path?: string;
  timeout: number;
  maxConnections: number;
  maxUnauthenticated?: number;
  maxUnauthenticatedPerAddress?: number;
  maxConcurrent: number;
  idleTimeout: number;
  authTimeout: number;
  grace: number;
  maxOutput?: number;
  logLevel: LogLevel;
  policy?: string;
  users?: string;
  auditLog?: string;
  stateDir: string;
  authFailures: number;
  authFailuresPerAddress: number;
  authLockout: number;
}

/** Serves until SIGTERM or SIGINT has drained the server; resolves with the exit status. */
export async function serve(flags: ServeFlags, io: RexecdIo): Promise<number> {
  const logger = createStderrLogger(flags.logLevel, io.stderr);
  // Before anything else opens: what rexecd inherited must not reach its commands.
  const inherited = closeInheritedDescriptors();
  if (inherited.length > 0) logger.info({ fds: inherited }, 'closed descriptors inherited from the parent process');
  const root = await checkRoot(flags.root, io);
  if (root === undefined) return REXECD_STATUS_ERROR;
  let auth: AuthSetting;
  if (flags.users !== undefined) {
    // The keys come from the users file.
    auth = { mode: 'hmac-sha256', keys: new Map() };
  } else if (flags.auth) {
    const { key, created } = await ensureKeyFile(flags.keyFile);
    if (created) logger.info({ path: flags.keyFile }, 'created a new key file (mode 0600); clients need the same key');
    auth = { mode: 'hmac-sha256', keys: new Map([[DEFAULT_USER, key]]) };
  } else {
    if (!isLoopback(flags.host)) {
      printRexecdError(io, `--no-auth is only allowed on a loopback address, not ${flags.host}`);
      return REXECD_STATUS_USAGE;
    }
    auth = { mode: 'none' };
  }
  const tls = await serveTlsSetting(flags);
  // Before the server exists: the commands it starts are raised above what rexecd keeps.
  if (process.getuid?.() === 0) {
    const protection = protectFromOomKiller();
    if (!protection.adjusted) {
      logger.warn({ reason: protection.reason }, "cannot lower rexecd's own OOM score (it needs CAP_SYS_RESOURCE)");
    }
  }
  const server = createServer({
    auth,
    host: flags.host,
    port: flags.port,
    root,
    allowShell: flags.allowShell,
    ...(flags.path === undefined ? {} : { searchPath: flags.path.split(':') }),
    timeoutMs: flags.timeout,
    maxConnections: flags.maxConnections,
    ...(flags.maxUnauthenticated === undefined ? {} : { maxUnauthenticated: flags.maxUnauthenticated }),
    ...(flags.maxUnauthenticatedPerAddress === undefined
      ? {}
      : { maxUnauthenticatedPerAddress: flags.maxUnauthenticatedPerAddress }),
    maxConcurrent: flags.maxConcurrent,
    idleTimeoutMs: flags.idleTimeout,
    authTimeoutMs: flags.authTimeout,
    graceMs: flags.grace,
    ...(flags.maxOutput === undefined ? {} : { maxOutputBytes: flags.maxOutput }),
    ...(flags.policy === undefined ? {} : { policyFile: flags.policy }),
    ...(flags.users === undefined ? {} : { usersFile: flags.users }),
    ...(flags.auditLog === undefined ? {} : { audit: createAuditLog(flags.auditLog) }),
    stateDir: flags.stateDir,
    authGuard: {
      maxFailures: flags.authFailures,
      windowMs: flags.authLockout,
      maxAddressFailures: flags.authFailuresPerAddress,
    },
    ...(tls === undefined ? {} : { tls }),
    logger,
  });
  let address;
  try {
    address = await server.listen();
  } catch (error) {
    if (error instanceof RexecError) {
      // The set-up before listening (cgroups) refused.
      printRexecdError(io, error.message);
      return REXECD_STATUS_ERROR;
    }
    if (!isSystemError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === 'EADDRINUSE'
        ? ' (is another rexecd running? choose another --port)'
        : code === 'EADDRNOTAVAIL'
          ? ' (no such address on this machine: check --host)'
          : '';
    printRexecdError(io, `cannot listen on ${flags.host}:${flags.port}: ${(error as Error).message}${hint}`);
    return REXECD_STATUS_ERROR;
  }
  const shown = address.host.includes(':') ? `[${address.host}]` : address.host;
  // The one stdout line is for whoever started rexecd; if nobody reads it, serving goes on.
  io.stdout.on('error', () => {});
  io.stdout.write(`rexecd listening on ${shown}:${address.port}\n`);
  logger.info(
    {
      root: server.policyFor('default').root,
      auth: auth.mode,
      shell: server.helloShell,
      ...(server.options.tls === undefined
        ? {}
        : { tls: server.options.tls.fingerprint, clientCerts: server.options.tls.clientCa !== undefined }),
    },
    `rexecd ${VERSION} ready; try: npx rexec${server.options.tls === undefined ? '' : ' --tls'} run -- uname -a`,
  );
  let status = 0;
  let drained!: () => void;
  const done = new Promise<void>((resolve) => (drained = resolve));
  const stop = (signal: string): void => {
    if (server.draining) {
      logger.warn({ signal }, 'already shutting down; waiting for running commands to end');
      return;
    }
    logger.info({ signal, running: server.runningCount }, 'shutting down');
    void server.shutdown().then(drained);
  };
  // A bug of ours must not leave commands running without their server: log it with
  // its stack, drain (every process group is ended), and exit with EX_SOFTWARE.
  const crash = (error: unknown): void => {
    logger.error({ err: (error as Error)?.stack ?? String(error) }, 'internal error: shutting down');
    status = REXECD_STATUS_INTERNAL;
    if (!server.draining) void server.shutdown().then(drained);
  };
  const onTerm = (): void => stop('SIGTERM');
  const onInt = (): void => stop('SIGINT');
  io.events.on('SIGTERM', onTerm);
  io.events.on('SIGINT', onInt);
  io.events.on('uncaughtException', crash);
  io.events.on('unhandledRejection', crash);
  await done;
  io.events.off('SIGTERM', onTerm);
  io.events.off('SIGINT', onInt);
  await server.options.audit.flush();
  logger.info({}, 'stopped');
  // The crash handlers stay until the end: a late failure of the drain itself is still ours.
  io.events.off('uncaughtException', crash);
  io.events.off('unhandledRejection', crash);
  return status;
}

async function checkRoot(dir: string, io: RexecdIo): Promise<string | undefined> {
  try {
    const real = await realpath(dir);
    if ((await stat(real)).isDirectory()) return real;
    printRexecdError(io, `--root ${dir} is not a directory`);
  } catch (error) {
    printRexecdError(
      io,
      `--root ${dir}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (error as Error).message}`,
    );
  }
  return undefined;
}

/**
 * Where the ledger of process groups goes (group-ledger.ts): a directory only this user
 * can write, that the system empties at boot (when the groups are gone anyway).
 */
export function defaultStateDir(): string {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return '/run/rexecd';
  const runtime = process.env['XDG_RUNTIME_DIR'];
  return runtime === undefined || runtime === '' ? join(tmpdir(), `rexecd-${uid}`) : join(runtime, 'rexecd');
}
