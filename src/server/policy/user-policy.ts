// The rules in force for one user: the server's flags as the base, then the policy
// file, then the policy's entry for the user, then the users file's entry.
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';
import { RexecError } from '../../errors.js';
import { SEARCH_PATH } from '../environment.js';
import { resolveRunAs } from './accounts.js';
import type { RunAs } from './accounts.js';
import type { RlimitSettings, Rules } from './schema.js';
import type { CgroupLimits } from '../cgroups/limits.js';
import { DEFAULT_TMP_BYTES } from '../launch.js';

/** Which commands may run: any, or these names (looked up in the path) and exact paths. */
export type Allowlist = '*' | { readonly names: ReadonlySet<string>; readonly paths: ReadonlySet<string> };

/** Everything the server checks and applies for one user's requests. */
export interface UserPolicy {
  /** Real path of the directory jail. */
  readonly root: string;
  /** Where command names are looked up; also the commands' PATH. */
  readonly searchPath: readonly string[];
  readonly allow: Allowlist;
  readonly shell: boolean;
  /** Request variables that may pass (the loader denylist applies on top). */
  readonly envAllow: '*' | ReadonlySet<string>;
  /** Fixed variables every command gets. */
  readonly envSet: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number | undefined;
  readonly maxStdinBytes: number | undefined;
  readonly maxConcurrent: number;
  readonly maxConcurrentPerUser: number | undefined;
  readonly maxConnectionsPerUser: number | undefined;
  readonly rlimits: RlimitSettings;
  readonly runAs: RunAs | undefined;
  readonly sandbox: 'none' | 'bwrap';
  /** Whether file transfers are allowed (rule: files). */
  readonly files: boolean;
  /** The configured `filesDir`, as written (for messages), if any. */
  readonly filesDir: string | undefined;
  /** Real path of the directory transfers are confined to: `filesDir`, else the root. */
  readonly filesScope: string;
  /** Largest file a `put` may write (rule: limits.maxFileBytes). */
  readonly maxFileBytes: number | undefined;
  /** Limits on all of the user's processes together (cgroups; rexecd must be root). */
  readonly cgroupLimits: CgroupLimits;
  /** Size of each tmpfs in the sandbox (rule: limits.tmpBytes). */
  readonly tmpBytes: number;
}

/** The policy of a server without a policy file: its flags, any command, any env. */
export function basePolicy(settings: {
  root: string;
  allowShell: boolean;
  timeoutMs: number;
  maxConcurrent: number;
  maxOutputBytes: number | undefined;
  /** The operator's search path (`rexecd --path`); default SEARCH_PATH. */
  searchPath?: readonly string[];
}): UserPolicy {
  return {
    root: settings.root,
    searchPath: settings.searchPath ?? SEARCH_PATH.split(':'),
    allow: '*',
    shell: settings.allowShell,
    envAllow: '*',
    envSet: {},
    timeoutMs: settings.timeoutMs,
    maxOutputBytes: settings.maxOutputBytes,
    maxStdinBytes: undefined,
    maxConcurrent: settings.maxConcurrent,
    maxConcurrentPerUser: undefined,
    maxConnectionsPerUser: undefined,
    rlimits: {},
    runAs: undefined,
    sandbox: 'none',
    files: true,
    filesDir: undefined,
    filesScope: settings.root,
    maxFileBytes: undefined,
    cgroupLimits: {},
    tmpBytes: DEFAULT_TMP_BYTES,
  };
}

/**
 * Applies one layer of rules. `field` names where they come from in error messages
 * (`lab.json`, `lab.json users.alice`); `baseDir` resolves a relative root.
 */
export function applyRules(policy: UserPolicy, rules: Rules, field: string, baseDir: string): UserPolicy {
  const limits = rules.limits ?? {};
  const {
    timeoutMs,
    maxOutputBytes,
    maxStdinBytes,
    maxConcurrent,
    maxConcurrentPerUser,
    maxConnectionsPerUser,
    maxFileBytes,
    memoryBytes,
    maxProcesses,
    cpuWeight,
    tmpBytes,
    ...rl
  } = limits;
  const root = rules.root === undefined ? policy.root : realDirectory(rules.root, `${field} root`, baseDir);
  // filesDir is relative to the root in force, so it is resolved again when either changes.
  const filesDir = rules.filesDir ?? policy.filesDir;
  const filesField = rules.filesDir === undefined ? `${field} filesDir (inherited)` : `${field} filesDir`;
  return {
    root,
    searchPath: rules.path ?? policy.searchPath,
    allow: rules.allow === undefined ? policy.allow : allowlist(rules.allow),
    shell: rules.shell ?? policy.shell,
    envAllow:
      rules.env?.allow === undefined ? policy.envAllow : rules.env.allow === '*' ? '*' : new Set(rules.env.allow),
    envSet: { ...policy.envSet, ...rules.env?.set },
    timeoutMs: timeoutMs ?? policy.timeoutMs,
    maxOutputBytes: maxOutputBytes ?? policy.maxOutputBytes,
    maxStdinBytes: maxStdinBytes ?? policy.maxStdinBytes,
    maxConcurrent: maxConcurrent ?? policy.maxConcurrent,
    maxConcurrentPerUser: maxConcurrentPerUser ?? policy.maxConcurrentPerUser,
    maxConnectionsPerUser: maxConnectionsPerUser ?? policy.maxConnectionsPerUser,
    rlimits: { ...policy.rlimits, ...definedOnly(rl) },
    runAs:
      rules.runAs === undefined ? policy.runAs : resolveRunAs(rules.runAs.user, rules.runAs.group, `${field} runAs`),
    sandbox: rules.sandbox ?? policy.sandbox,
    files: rules.files ?? policy.files,
    filesDir,
    filesScope: filesDir === undefined ? root : filesScope(root, filesDir, filesField),
    maxFileBytes: maxFileBytes ?? policy.maxFileBytes,
    cgroupLimits: { ...policy.cgroupLimits, ...definedOnly({ memoryBytes, maxProcesses, cpuWeight }) },
    tmpBytes: tmpBytes ?? policy.tmpBytes,
  };
}

// The real directory `filesDir` names, which must be the root or inside it.
function filesScope(root: string, filesDir: string, field: string): string {
  const real = realDirectory(isAbsolute(filesDir) ? filesDir : resolve(root, filesDir), field, root);
  if (real !== root && !real.startsWith(root.endsWith(sep) ? root : root + sep)) {
    throw new RexecError('CONFIG', `${field}: ${filesDir} is not inside the root ${root}`);
  }
  return real;
}

function allowlist(allow: '*' | readonly string[]): Allowlist {
  // Stryker disable next-line ConditionalExpression,StringLiteral: '*'.includes('*') is true as well.
  if (allow === '*' || allow.includes('*')) return '*';
  return {
    // Stryker disable next-line MethodExpression: a command with a slash is only ever looked up in `paths`.
    names: new Set(allow.filter((entry) => !entry.includes('/'))),
    paths: new Set(allow.filter((entry) => entry.includes('/')).map((entry) => resolve(entry))),
  };
}

function realDirectory(path: string, field: string, baseDir: string): string {
  const wanted = isAbsolute(path) ? path : resolve(baseDir, path);
  let real: string;
  try {
    real = realpathSync(wanted);
  } catch {
    throw new RexecError('CONFIG', `${field}: ${wanted} does not exist`);
  }
  if (!statSync(real).isDirectory()) throw new RexecError('CONFIG', `${field}: ${wanted} is not a directory`);
  return real;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
