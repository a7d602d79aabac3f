// `exec` (docs/protocol.md section 4) and the terminal extension's `resize` (section
// 10). Checked in two passes so that PROTOCOL (a member of the wrong JSON type) wins
// over BAD_REQUEST (the right type, an invalid value), as section 8's precedence says.
import { RexecError } from '../errors.js';
import type { FrameHeader } from './frame.js';
import {
  clipQuoted,
  optionalBoolean,
  optionalNumber,
  optionalObject,
  optionalString,
  optionalStringArray,
  optionalStringRecord,
  requiredId,
} from './members.js';

/** `exec` (section 4): exactly one of argv and command. */
export interface ExecRequest {
  readonly type: 'exec';
  readonly id: number;
  readonly argv: readonly string[] | undefined;
  readonly command: string | undefined;
  readonly cwd: string | undefined;
  readonly env: ReadonlyArray<readonly [string, string]>;
  readonly timeoutMs: number | undefined;
  readonly stdin: boolean;
  /** rexec: acknowledge stdin bytes with `stdin-ack` frames (docs/protocol.md section 5). */
  readonly stdinAck: boolean;
  readonly merge: boolean;
  /** Run on a pseudo-terminal of this size (rexec extension; see docs/protocol.md). */
  readonly pty: PtySize | undefined;
}

/** A terminal's size and type, for `exec.pty`. */
export interface PtySize {
  readonly cols: number;
  readonly rows: number;
  readonly term: string;
}

/** Largest terminal side accepted (rows or columns). */
export const MAX_PTY_SIDE = 10_000;
/** The terminal type when `pty.term` is absent. */
export const DEFAULT_TERM = 'xterm-256color';
/** Longest terminal type accepted (`pty.term`). */
export const MAX_TERM_LENGTH = 64;

// Letters, digits and `._+-`: a TERM value that no terminfo lookup can misread.
const TERM_PATTERN = new RegExp(`^[A-Za-z0-9._+-]{1,${MAX_TERM_LENGTH}}$`);

/** `resize` (rexec extension): a pseudo-terminal's new size. */
export interface ResizeRequest {
  readonly type: 'resize';
  readonly id: number;
  readonly cols: number;
  readonly rows: number;
}

/** Validates an `exec` header. */
export function parseExec(header: FrameHeader): ExecRequest {
  // Pass 1: JSON types (PROTOCOL).
  optionalNumber(header, 'id');
  const argv = optionalStringArray(header, 'argv');
  const command = optionalString(header, 'command');
  const cwd = optionalString(header, 'cwd');
  const env = optionalStringRecord(header, 'env') ?? [];
  const timeoutMs = optionalNumber(header, 'timeoutMs');
  const stdin = optionalBoolean(header, 'stdin') ?? false;
  const stdinAck = optionalBoolean(header, 'stdinAck') ?? false;
  const merge = optionalBoolean(header, 'merge') ?? false;
  const ptyHeader = optionalObject(header, 'pty');
  const ptyCols = ptyHeader === undefined ? undefined : optionalNumber(ptyHeader, 'cols');
  const ptyRows = ptyHeader === undefined ? undefined : optionalNumber(ptyHeader, 'rows');
  const ptyTerm = ptyHeader === undefined ? undefined : optionalString(ptyHeader, 'term');
  // Pass 2: values (BAD_REQUEST), with the id once it is known to be valid.
  const id = requiredId(header);
  const bad = (message: string): RexecError => new RexecError('BAD_REQUEST', message, { id });
  if ((argv === undefined) === (command === undefined)) {
    throw bad('exec needs exactly one of "argv" and "command"');
  }
  if (argv !== undefined) {
    if (argv.length === 0) throw bad('"argv" must not be empty');
    if (argv[0] === '') throw bad('"argv[0]" must not be empty');
    if (argv.some(hasNul)) throw bad('"argv" strings must not contain NUL');
  }
  if (command !== undefined && hasNul(command)) throw bad('"command" must not contain NUL');
  if (cwd !== undefined && hasNul(cwd)) throw bad('"cwd" must not contain NUL');
  for (const [name, value] of env) {
    if (name === '' || name.includes('=') || hasNul(name)) {
      throw bad(`"env" name ${JSON.stringify(clipQuoted(name))} is not a valid variable name`);
    }
    if (hasNul(value)) throw bad(`"env" value of ${name} must not contain NUL`);
  }
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
    throw bad(`"timeoutMs" must be a positive integer, not ${timeoutMs}`);
  }
  let pty: PtySize | undefined;
  if (ptyHeader !== undefined) {
    const term = ptyTerm ?? DEFAULT_TERM;
    if (!TERM_PATTERN.test(term)) throw bad(`"pty.term" ${JSON.stringify(clipQuoted(term))} is not a terminal type`);
    pty = { cols: terminalSide(ptyCols, 'pty.cols', bad), rows: terminalSide(ptyRows, 'pty.rows', bad), term };
  }
  return { type: 'exec', id, argv, command, cwd, env, timeoutMs, stdin, stdinAck, merge, pty };
}

/** Validates a `resize` header. */
export function parseResize(header: FrameHeader): ResizeRequest {
  const cols = optionalNumber(header, 'cols');
  const rows = optionalNumber(header, 'rows');
  const id = requiredId(header);
  const bad = (message: string): RexecError => new RexecError('BAD_REQUEST', message, { id });
  return { type: 'resize', id, cols: terminalSide(cols, 'cols', bad), rows: terminalSide(rows, 'rows', bad) };
}

function terminalSide(value: number | undefined, name: string, bad: (message: string) => RexecError): number {
  if (value === undefined) throw bad(`"${name}" is required`);
  if (!Number.isInteger(value) || value < 1 || value > MAX_PTY_SIDE) {
    throw bad(`"${name}" must be an integer 1..${MAX_PTY_SIDE}, not ${value}`);
  }
  return value;
}

/** True when `text` holds a NUL, which no argv, path or environment can carry. */
export function hasNul(text: string): boolean {
  return text.includes('\0');
}
