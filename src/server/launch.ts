// How a command is actually started: the program itself, or wrapped in prlimit(1) for
// resource limits, bubblewrap for the sandbox, and sh for `merge` (outermost first:
// prlimit → bwrap → sh → program). When the command must be confined before any of
// its code runs (cgroups, OOM score), a root preamble comes first and setpriv(1)
// switches to the runAs account after it: preamble → setpriv → prlimit → ...
// Pure: builds argv, starts nothing.
import type { RlimitSettings } from './policy/schema.js';

/** Where the wrappers live (Debian: util-linux, bubblewrap). */
export const PRLIMIT = '/usr/bin/prlimit';
export const BWRAP = '/usr/bin/bwrap';
export const SETPRIV = '/usr/bin/setpriv';
const SH = '/bin/sh';

/** Size of each tmpfs in the sandbox (/tmp, /dev/shm) unless the policy says (limits.tmpBytes). */
export const DEFAULT_TMP_BYTES = 128 * 1024 * 1024;

// `exec` keeps the pid; the redirection makes fd 2 a duplicate of the stdout pipe.
const MERGE_SCRIPT = 'exec "$0" "$@" 2>&1';

// Run by /bin/sh as root, in the process that becomes the command (`$$`; `exec` keeps
// the pid, so it stays the process-group leader): joins each cgroup given before `--`
// and raises the OOM score, then runs the rest of the chain. Nothing forks, so a
// signal to the group before the `exec` leaves nothing behind. A write that fails
// stops the command (status 126) rather than running it unconfined. The shell sets
// PWD for what it runs: the command's own PWD ("=value") or its absence ("-") is
// restored, so that the environment is exactly the one rexecd gave.
export const PREAMBLE_SCRIPT =
  'adj=$1; pwd=$2; shift 2; while [ "$1" != -- ]; do echo $$ > "$1" || exit 126; shift; done; shift; ' +
  'echo "$adj" > /proc/self/oom_score_adj || exit 126; ' +
  'if [ "$pwd" = - ]; then unset PWD; else export PWD="${pwd#=}"; fi; exec "$@"';
/** The preamble's $0: the name its error messages start with. */
export const PREAMBLE_NAME = 'rexecd-preamble';

/** What is applied to a command before any of its code runs (rexecd is root). */
export interface Confinement {
  /** cgroup.procs files the command joins. */
  readonly cgroupProcs: readonly string[];
  /** Its oom_score_adj. */
  readonly oomScoreAdj: number;
}

/** A user and group to run as (each as child_process takes them: either may be absent). */
export interface RunAsIds {
  readonly uid?: number | undefined;
  readonly gid?: number | undefined;
}

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
  /** Size of each tmpfs in the sandbox; DEFAULT_TMP_BYTES when not given. */
  readonly sandboxTmpBytes?: number;
  /** Whom the command runs as (rexecd is root), or undefined for rexecd's own user. */
  readonly runAs?: RunAsIds;
  /** A root preamble's work, or undefined for none (the chain then starts as before). */
  readonly confinement?: Confinement;
  /** The command environment's PWD, if it has one (the preamble keeps it as it is). */
  readonly pwd?: string;
}

/**
 * The argv to spawn, and the user and group to spawn it as (undefined: rexecd's own;
 * with a preamble the chain switches itself). argv0 is kept only when nothing wraps
 * the program.
 */
export interface LaunchPlan {
  readonly file: string;
  readonly args: readonly string[];
  readonly argv0: string | undefined;
  readonly uid?: number;
  readonly gid?: number;
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
    const tmpBytes = settings.sandboxTmpBytes ?? DEFAULT_TMP_BYTES;
    argv = [BWRAP, ...bwrapArgs(settings.sandboxRoot, settings.cwd, settings.sandboxReadOnly, tmpBytes), '--', ...argv];
    wrapped = true;
  }
  const limits = prlimitArgs(settings.rlimits);
  if (limits.length > 0) {
    argv = [PRLIMIT, ...limits, '--', ...argv];
    wrapped = true;
  }
  const { runAs, confinement } = settings;
  if (confinement !== undefined) {
    if (runAs !== undefined) argv = [SETPRIV, ...setprivArgs(runAs), '--', ...argv];
    const [file, ...args] = preambleArgv(confinement, settings.pwd, argv) as [string, ...string[]];
    return { file, args, argv0: undefined };
  }
  const [file, ...args] = argv as [string, ...string[]];
  return {
    file,
    args,
    argv0: wrapped ? undefined : settings.argv0,
    ...(runAs?.uid === undefined ? {} : { uid: runAs.uid }),
    ...(runAs?.gid === undefined ? {} : { gid: runAs.gid }),
  };
}

/**
 * `argv` run through the root preamble: it joins the cgroups and takes the OOM score of
 * `confinement`, sets PWD to `pwd` (or unsets it), then execs `argv` in the same process.
 */
export function preambleArgv(confinement: Confinement, pwd: string | undefined, argv: readonly string[]): string[] {
  const { oomScoreAdj, cgroupProcs } = confinement;
  const pwdArg = pwd === undefined ? '-' : `=${pwd}`;
  return [SH, '-c', PREAMBLE_SCRIPT, PREAMBLE_NAME, String(oomScoreAdj), pwdArg, ...cgroupProcs, '--', ...argv];
}

/**
 * setpriv flags that switch from root to `runAs` as child_process would: real, effective
 * and saved ids, and no supplementary groups. Leaving uid 0 clears every capability.
 */
export function setprivArgs(runAs: RunAsIds): string[] {
  return [
    ...(runAs.uid === undefined ? [] : [`--reuid=${runAs.uid}`]),
    ...(runAs.gid === undefined ? [] : [`--regid=${runAs.gid}`]),
    '--clear-groups',
  ];
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
// the jail so that a jail below /tmp stays visible; the jail is the only writable path
// besides /tmp and /dev/shm, each a tmpfs of a fixed size (a tmpfs without one may take
// half the machine's memory).
const READ_ONLY = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt'];

/** True when `path` is visible in every sandbox: under one of the read-only system directories. */
export function inSandboxView(path: string): boolean {
  return READ_ONLY.some((dir) => path === dir || path.startsWith(`${dir}/`));
}

/**
 * bubblewrap flags: own PID, network, IPC and UTS namespaces; dies with rexecd.
 * `extraReadOnly` paths are bound read-only after the jail (the file helper's program).
 * /tmp and /dev/shm are tmpfs of `tmpBytes` each; the sandbox's own root and /dev
 * (tmpfs that bubblewrap makes without a size) are made read-only once everything is
 * mounted, so no other path can hold a student's bytes in memory.
 */
export function bwrapArgs(
  root: string,
  cwd: string,
  extraReadOnly: readonly string[] = [],
  tmpBytes = DEFAULT_TMP_BYTES,
): string[] {
  const size = String(tmpBytes);
  return [
    ...READ_ONLY.flatMap((dir) => ['--ro-bind-try', dir, dir]),
    '--size',
    size,
    '--tmpfs',
    '/tmp',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--size',
    size,
    '--tmpfs',
    '/dev/shm',
    '--bind',
    root,
    root,
    ...extraReadOnly.flatMap((path) => ['--ro-bind', path, path]),
    '--remount-ro',
    '/dev',
    '--remount-ro',
    '/',
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
