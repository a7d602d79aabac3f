// createServer's options, checked and with every default filled in. A value that cannot
// be used is a CONFIG error naming the option (never a TypeError: rexecd prints CONFIG as
// a one-line user error, and lets anything else up with its stack as a bug).
import { realpathSync } from 'node:fs';
import { RexecError } from '../errors.js';
import { defaultMaxUnauthenticated, defaultMaxUnauthenticatedPerAddress } from './admission.js';
import { noAudit } from './audit.js';
import { DEFAULT_AUTH_GUARD } from './auth-guard.js';
import { silentLogger } from './logger.js';
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
import { loadLab } from './policy/load.js';
import { preflight } from './policy/preflight.js';
import { basePolicy } from './policy/user-policy.js';
import { DEFAULT_REFUSAL_TALLY } from './refusal-tally.js';
import { resolveTlsSetting } from './tls-listener.js';

/** The options with their defaults; throws CONFIG for a value that cannot be used. */
export function resolveOptions(options: ServerOptions): ResolvedServerOptions {
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const result = value ?? fallback;
    if (!Number.isInteger(result) || result <= 0) {
      throw new RexecError(
        'CONFIG',
        `option ${name} must be a positive integer, not ${String(value)} (${typeof value})`,
      );
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
  const base = basePolicy({
    root,
    allowShell,
    timeoutMs,
    maxConcurrent,
    maxOutputBytes,
    ...(searchPath === undefined ? {} : { searchPath }),
  });
  const lab = loadLab(base, options.policyFile, options.usersFile);
  preflight(lab.policies, options.policyFile !== undefined || options.usersFile !== undefined);
  const maxConnections =
    lab.maxConnections ?? positive('maxConnections', options.maxConnections, DEFAULT_MAX_CONNECTIONS);
  const maxUnauthenticated = positive(
    'maxUnauthenticated',
    options.maxUnauthenticated,
    defaultMaxUnauthenticated(maxConnections),
  );
  if (maxUnauthenticated > maxConnections) {
    throw new RexecError(
      'CONFIG',
      `option maxUnauthenticated (${maxUnauthenticated}) must not be over maxConnections (${maxConnections})`,
    );
  }
  let auth = options.auth;
  if (lab.keys !== undefined) {
    if (auth.mode === 'none')
      throw new RexecError('CONFIG', 'a users file needs authentication: do not combine it with no auth');
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

// The root's real path; CONFIG when it cannot be resolved (missing, unreadable).
function realRoot(dir: string): string {
  try {
    return realpathSync(dir);
  } catch (error) {
    throw new RexecError(
      'CONFIG',
      `option root: ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    );
  }
}

// The operator's search path: absolute directories, each a PATH entry on its own.
function checkSearchPath(dirs: readonly string[]): readonly string[] {
  if (dirs.length === 0) throw new RexecError('CONFIG', 'option searchPath must name at least one directory');
  for (const dir of dirs) {
    if (!dir.startsWith('/') || dir.includes(':') || dir.includes('\0')) {
      throw new RexecError(
        'CONFIG',
        `search path (--path): ${JSON.stringify(dir)} is not an absolute directory without ":"`,
      );
    }
  }
  return dirs;
}
