// The one place a process is created. What a remote shell needs is a raw spawn: bytes,
// not text; no buffering; nothing of the parent's environment; its own process group
// and session; no kill or timeout that reaches only the direct pid (rexecd signals the
// whole group). This was first written with execa, every default of which had to be
// overridden to get exactly that; its option handling and result promise then cost
// ~0.4 ms of a ~2 ms warm round trip (BENCHMARKS.md), so the process is started with
// node:child_process directly.
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { RexecError } from '../errors.js';
import { planLaunch } from './launch.js';
import { startTimeOf } from './proc-stat.js';
import type { Confinement } from './launch.js';
import { spawnOnPty } from './pty/pty-spawn.js';
import type { PtySize } from '../protocol/messages.js';
import type { RlimitSettings } from './policy/schema.js';

/** What to start. `file` is an absolute path: the caller has resolved it. */
export interface SpawnSpec {
  readonly id: number;
  readonly file: string;
  readonly args: readonly string[];
  /** The name the process sees as argv[0] (what the client sent); default `file`. */
  readonly argv0?: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** Give the process a stdin pipe; otherwise its stdin is closed (/dev/null). */
  readonly stdin: boolean;
  /** Make stderr the same pipe as stdout, so the order of writes to both is kept. */
  readonly merge: boolean;
  /** Resource limits (prlimit), none when empty. */
  readonly rlimits?: RlimitSettings;
  /** Run inside bubblewrap with this jail. */
  readonly sandboxRoot?: string;
  /** Paths (files or directories) made visible read-only inside the sandbox besides the system's. */
  readonly sandboxReadOnly?: readonly string[];
  /** Size of each tmpfs in the sandbox (/tmp, /dev/shm). */
  readonly sandboxTmpBytes?: number;
  /** cgroups and OOM score applied before the process's own code runs (rexecd is root). */
  readonly confinement?: Confinement;
  /** Give the process a fourth pipe (its fd 3) to report on: the file helper's. */
  readonly control?: boolean;
  /** Run as this user and group (rexecd must be root). */
  readonly uid?: number;
  readonly gid?: number;
  /** Run on a pseudo-terminal of this size (then stdin is the terminal, no stderr). */
  readonly pty?: PtySize;
}

/** How a process ended: an exit code, or the signal that killed it. */
export interface ProcessEnd {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A started process: it leads its own process group, whose id is `pid`. */
export interface SpawnedProcess {
  readonly pid: number;
  readonly stdout: Readable;
  /** Undefined when merged into stdout. */
  readonly stderr: Readable | undefined;
  /** Undefined unless the spec asked for stdin. */
  readonly stdin: Writable | undefined;
  /** Resolves once the process has exited (its pipes may still be open). */
  readonly exited: Promise<ProcessEnd>;
  /** The process's fd 3, when the spec asked for `control`. */
  readonly control?: Readable;
  /** Changes the terminal size (processes started on a pseudo-terminal only). */
  readonly resize?: (cols: number, rows: number) => void;
  /** The process's start time (proc-stat.ts), to know its group number is still its own. */
  readonly started?: number;
}

/**
 * Starts a process. Returns it at once when the system started it; otherwise a
 * promise that rejects with SPAWN_FAILED or NOT_FOUND once the reason is known. A
 * terminal command is always a promise: its helper process reports the start.
 */
export function spawnProcess(spec: SpawnSpec): SpawnedProcess | Promise<SpawnedProcess> {
  const plan = planLaunch({
    file: spec.file,
    args: spec.args,
    argv0: spec.argv0,
    cwd: spec.cwd,
    merge: spec.merge,
    rlimits: spec.rlimits ?? {},
    sandboxRoot: spec.sandboxRoot,
    ...(spec.sandboxReadOnly === undefined ? {} : { sandboxReadOnly: spec.sandboxReadOnly }),
    ...(spec.sandboxTmpBytes === undefined ? {} : { sandboxTmpBytes: spec.sandboxTmpBytes }),
    ...(spec.uid === undefined && spec.gid === undefined ? {} : { runAs: { uid: spec.uid, gid: spec.gid } }),
    ...(spec.confinement === undefined ? {} : { confinement: spec.confinement, pwd: spec.env['PWD'] }),
  });
  if (spec.pty !== undefined) {
    return spawnOnPty(plan, {
      id: spec.id,
      cwd: spec.cwd,
      env: spec.env,
      pty: spec.pty,
      ...(spec.confinement === undefined ? {} : { confinement: spec.confinement }),
      ...(plan.uid === undefined ? {} : { uid: plan.uid }),
      ...(plan.gid === undefined ? {} : { gid: plan.gid }),
    });
  }
  const subprocess = spawn(plan.file, plan.args, {
    ...(plan.argv0 === undefined ? {} : { argv0: plan.argv0 }),
    ...(plan.uid === undefined ? {} : { uid: plan.uid }),
    ...(plan.gid === undefined ? {} : { gid: plan.gid }),
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: [
      spec.stdin ? 'pipe' : 'ignore',
      'pipe',
      spec.merge ? 'ignore' : 'pipe',
      ...(spec.control ? (['pipe'] as const) : []),
    ],
    windowsHide: true,
  });
  // Before a start, 'error' says why it failed; after one, the owners of the streams
  // handle their errors (EPIPE on stdin, ...) and this listener keeps 'error' handled.
  const result = new Promise<unknown>((resolve) => subprocess.once('error', resolve));
  if (subprocess.pid === undefined) {
    return result.then((outcome) => {
      throw spawnError(spec, outcome as { code?: string; cause?: { code?: string } });
    });
  }
  const exited = new Promise<ProcessEnd>((resolve) => {
    subprocess.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const { stdout, stderr, stdin } = subprocess;
  if (stdout === null) throw new RexecError('SPAWN_FAILED', 'no stdout pipe', { id: spec.id });
  return {
    pid: subprocess.pid,
    // Read before the event loop can reap it: the pid is the child's until then.
    ...startedField(subprocess.pid),
    stdout,
    stderr: spec.merge ? undefined : (stderr ?? undefined),
    stdin: spec.stdin ? (stdin ?? undefined) : undefined,
    exited,
    ...(spec.control ? { control: subprocess.stdio[3] as Readable } : {}),
  };
}

function spawnError(spec: SpawnSpec, outcome: { code?: string; cause?: { code?: string } }): RexecError {
  const code = outcome.code ?? outcome.cause?.code;
  const reason =
    code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unknown error');
  return new RexecError(code === 'ENOENT' ? 'NOT_FOUND' : 'SPAWN_FAILED', `cannot start ${spec.file}: ${reason}`, {
    id: spec.id,
  });
}

function startedField(pid: number): { started?: number } {
  const started = startTimeOf(pid);
  return started === undefined ? {} : { started };
}
