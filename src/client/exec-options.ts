// What a caller may ask of one command, checked before anything is sent, and the
// `exec` header it becomes (docs/protocol.md section 4).
import { RexecError } from '../errors.js';

/** One command: exactly one of `argv` (no shell) and `command` (`/bin/sh -c`). */
export interface ExecOptions {
  /** Program and arguments, run without a shell. */
  readonly argv?: readonly string[];
  /** A shell command line; the server must allow a shell (`hello.shell`). */
  readonly command?: string;
  /** Working directory: relative to the server's root, or absolute inside it. */
  readonly cwd?: string;
  /** Variables added to the server's clean environment, as its policy allows. */
  readonly env?: Readonly<Record<string, string>>;
  /** Run time limit in milliseconds (the server caps it). */
  readonly timeoutMs?: number;
  /** Give the process a stdin that `RemoteProcess.stdin` writes to (else it is closed at once). */
  readonly stdin?: boolean;
  /** Send the process's stderr into the same pipe as its stdout, in the order written. */
  readonly merge?: boolean;
  /**
   * Run on a pseudo-terminal of this size (the server must say `hello.pty`). Output
   * then comes as stdout only, and `stdin` is the terminal's keyboard side (always open).
   */
  readonly pty?: { readonly cols: number; readonly rows: number; readonly term?: string };
  /**
   * Send at once even when the server's limit of running requests is reached, so that
   * its BUSY rejects the command, instead of waiting in the client for a slot.
   */
  readonly failFast?: boolean;
  /**
   * Aborts the command: one still waiting for a slot is never sent; a running one is
   * killed (SIGKILL to its process group). `started` and `exit` reject with the signal's reason.
   */
  readonly signal?: AbortSignal;
}

/** The options of any request that are the client's, not the server's. */
export interface RequestControl {
  readonly failFast?: boolean;
  readonly signal?: AbortSignal;
}

/** `failFast` and `signal`, checked; throws BAD_REQUEST naming a bad one. */
export function checkControl(options: RequestControl): { failFast: boolean; signal: AbortSignal | undefined } {
  const { failFast, signal } = options;
  if (failFast !== undefined && typeof failFast !== 'boolean') {
    throw bad(`option "failFast" must be a boolean, not ${describe(failFast)}`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw bad(`option "signal" must be an AbortSignal, not ${describe(signal)}`);
  }
  return { failFast: failFast === true, signal };
}

/** The `exec` header for `options` under `id`; throws BAD_REQUEST naming a bad option. */
export function execHeader(id: number, options: ExecOptions): Record<string, unknown> {
  const { argv, command, cwd, env, timeoutMs, stdin, merge, pty } = options;
  if ((argv === undefined) === (command === undefined)) {
    throw bad('exec needs exactly one of the options "argv" and "command"');
  }
  if (argv !== undefined) {
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((item) => typeof item === 'string')) {
      throw bad(`option "argv" must be a non-empty array of strings, not ${describe(argv)}`);
    }
    if (argv[0] === '') throw bad('option "argv" must not start with an empty program name');
  }
  if (command !== undefined && typeof command !== 'string') {
    throw bad(`option "command" must be a string, not ${describe(command)}`);
  }
  if (cwd !== undefined && typeof cwd !== 'string') {
    throw bad(`option "cwd" must be a string, not ${describe(cwd)}`);
  }
  if (env !== undefined) checkEnv(env);
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
    throw bad(`option "timeoutMs" must be a positive integer, not ${describe(timeoutMs)}`);
  }
  for (const [name, value] of [
    ['stdin', stdin],
    ['merge', merge],
  ] as const) {
    if (value !== undefined && typeof value !== 'boolean') {
      throw bad(`option "${name}" must be a boolean, not ${describe(value)}`);
    }
  }
  if (pty !== undefined) checkPty(pty);
  // JSON.stringify leaves out the members that are undefined.
  return { type: 'exec', id, argv, command, cwd, env, timeoutMs, stdin, merge, pty };
}

function checkPty(pty: unknown): void {
  const size = pty as { cols?: unknown; rows?: unknown; term?: unknown };
  if (typeof pty !== 'object' || pty === null) throw bad(`option "pty" must be an object, not ${describe(pty)}`);
  for (const side of ['cols', 'rows'] as const) {
    const value = size[side];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw bad(`option "pty.${side}" must be a positive integer, not ${describe(value)}`);
    }
  }
  if (size.term !== undefined && typeof size.term !== 'string') {
    throw bad(`option "pty.term" must be a string, not ${describe(size.term)}`);
  }
}

function checkEnv(env: unknown): void {
  if (typeof env !== 'object' || env === null || Array.isArray(env)) {
    throw bad(`option "env" must be an object of strings, not ${describe(env)}`);
  }
  for (const [name, value] of Object.entries(env)) {
    if (name === '' || name.includes('=')) {
      throw bad(`option "env" has an invalid variable name ${JSON.stringify(name)}`);
    }
    if (typeof value !== 'string') {
      throw bad(`option "env" value of ${name} must be a string, not ${describe(value)}`);
    }
  }
}

function bad(message: string): RexecError {
  return new RexecError('BAD_REQUEST', message);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array with a non-string';
  if (value === null) return 'null';
  if (typeof value === 'number') return String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
