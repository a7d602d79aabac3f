// How a command is actually started: the program itself, or wrapped in prlimit(1) for
// resource limits, bubblewrap for the sandbox, and sh for `merge` (innermost first:
// prlimit → bwrap → sh → program). Pure: builds argv, starts nothing.
import type { RlimitSettings } from './policy/schema.js';

/** Where the wrappers live (Debian: util-linux, bubblewrap). */
export const PRLIMIT = '/usr/bin/prlimit';
export const BWRAP = '/usr/bin/bwrap';

// `exec` keeps the pid; the redirection makes fd 2 a duplicate of the stdout pipe.
const MERGE_SCRIPT = 'exec "$0" "$@" 2>&1';

/** What the launch needs to know beyond the program and its arguments. */
export interface LaunchSettings {
  readonly file: string;
  readonly args: readonly string[];
  readonly argv0: string | undefined;
  readonly cwd: string;
  readonly merge: boolean;
  readonly rlimits: RlimitSettings;
  /** The jail for bubblewrap, or undefined for no sandbox. */
  readonly sandboxRoot: string | undefined;
  /** More paths made visible read-only in the sandbox (the file helper and node). */
  readonly sandboxReadOnly?: readonly string[];
}

/** The argv to spawn; argv0 is kept only when nothing wraps the program. */
export interface LaunchPlan {
  readonly file: string;
  readonly args: readonly string[];
  readonly argv0: string | undefined;
}

/** Builds the command line for a launch. */
export function planLaunch(settings: LaunchSettings): LaunchPlan {
  let argv: string[] = [settings.file, ...settings.args];
  let wrapped = false;
  if (settings.merge) {
    argv = ['/bin/sh', '-c', MERGE_SCRIPT, ...argv];
    wrapped = true;
  }
  if (settings.sandboxRoot !== undefined) {
    argv = [BWRAP, ...bwrapArgs(settings.sandboxRoot, settings.cwd, settings.sandboxReadOnly), '--', ...argv];
    wrapped = true;
  }
  const limits = prlimitArgs(settings.rlimits);
  if (limits.length > 0) {
    argv = [PRLIMIT, ...limits, '--', ...argv];
    wrapped = true;
  }
  const [file, ...args] = argv as [string, ...string[]];
  return { file, args, argv0: wrapped ? undefined : settings.argv0 };
}

/** prlimit flags for the limits that are set (soft and hard alike). */
export function prlimitArgs(rlimits: RlimitSettings): string[] {
  const flags: string[] = [];
  if (rlimits.nproc !== undefined) flags.push(`--nproc=${rlimits.nproc}`);
  if (rlimits.addressSpaceBytes !== undefined) flags.push(`--as=${rlimits.addressSpaceBytes}`);
  if (rlimits.cpuSeconds !== undefined) flags.push(`--cpu=${rlimits.cpuSeconds}`);
  if (rlimits.fileSizeBytes !== undefined) flags.push(`--fsize=${rlimits.fileSizeBytes}`);
  if (rlimits.openFiles !== undefined) flags.push(`--nofile=${rlimits.openFiles}`);
  return flags;
}

// System directories, read-only when they exist. /tmp is a fresh tmpfs, mounted before
// the jail so that a jail below /tmp stays visible; the jail is the only writable path.
const READ_ONLY = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt'];

/** True when `path` is visible in every sandbox: under one of the read-only system directories. */
export function inSandboxView(path: string): boolean {
  return READ_ONLY.some((dir) => path === dir || path.startsWith(`${dir}/`));
}

/**
 * bubblewrap flags: own PID, network, IPC and UTS namespaces; dies with rexecd.
 * `extraReadOnly` paths are bound read-only after the jail (the file helper's program).
 */
export function bwrapArgs(root: string, cwd: string, extraReadOnly: readonly string[] = []): string[] {
  return [
    ...READ_ONLY.flatMap((dir) => ['--ro-bind-try', dir, dir]),
    '--tmpfs',
    '/tmp',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--bind',
    root,
    root,
    ...extraReadOnly.flatMap((path) => ['--ro-bind', path, path]),
    '--unshare-all',
    '--hostname',
    'rexec-sandbox',
    '--die-with-parent',
    // No --new-session: the command must stay in the process group that rexecd
    // signals. (It has no controlling terminal to protect: rexecd starts it in a new
    // session already.) In a new session an early SIGTERM could kill the outer bwrap
    // alone and leave the command running outside every group rexecd knows.
    '--unsetenv',
    'PWD',
    '--chdir',
    cwd,
  ];
}
