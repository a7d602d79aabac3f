// The one place a process is created (through execa). execa's defaults suit scripts,
// not a remote shell, so they are overridden: raw bytes, no buffering, nothing of the
// parent's environment, its own process group and session, and no kill or timeout of
// execa's own (they reach only the direct pid; rexecd signals the whole group).
import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { RexecError } from '../errors.js';

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
}

// `exec` keeps the pid; the redirection makes fd 2 a duplicate of the stdout pipe.
const MERGE_SCRIPT = 'exec "$0" "$@" 2>&1';

/** Starts a process, or throws SPAWN_FAILED / NOT_FOUND when the system refuses. */
export async function spawnProcess(spec: SpawnSpec): Promise<SpawnedProcess> {
  const [file, args] = spec.merge
    ? ['/bin/sh', ['-c', MERGE_SCRIPT, spec.file, ...spec.args]]
    : [spec.file, spec.args];
  const subprocess = execa(file, args, {
    ...(spec.merge || spec.argv0 === undefined ? {} : { argv0: spec.argv0 }),
    cwd: spec.cwd,
    env: spec.env,
    extendEnv: false,
    detached: true,
    cleanup: false,
    buffer: false,
    encoding: 'buffer',
    stripFinalNewline: false,
    reject: false,
    stdin: spec.stdin ? 'pipe' : 'ignore',
    stdout: 'pipe',
    stderr: spec.merge ? 'ignore' : 'pipe',
    forceKillAfterDelay: false,
    windowsHide: true,
  });
  const exited = new Promise<ProcessEnd>((resolve) => {
    subprocess.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // Errors after spawn (EPIPE on stdin, ...) are handled by the stream owners; the
  // result itself carries nothing rexecd needs.
  const result = subprocess.then(
    (value) => value,
    (error: unknown) => error,
  );
  if (subprocess.pid === undefined) {
    const outcome = (await result) as { code?: string; message?: string; cause?: { code?: string } };
    const code = outcome.code ?? outcome.cause?.code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? 'unknown error';
    throw new RexecError(code === 'ENOENT' ? 'NOT_FOUND' : 'SPAWN_FAILED', `cannot start ${spec.file}: ${reason}`, {
      id: spec.id,
    });
  }
  const { stdout, stderr, stdin } = subprocess;
  if (stdout === null) throw new RexecError('SPAWN_FAILED', 'no stdout pipe', { id: spec.id });
  return {
    pid: subprocess.pid,
    stdout,
    stderr: spec.merge ? undefined : (stderr ?? undefined),
    stdin: spec.stdin ? (stdin ?? undefined) : undefined,
    exited,
  };
}
