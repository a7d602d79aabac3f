// The typed messages of PROTOCOL.md sections 3-4 and their validation. A request is
// checked in two passes so that PROTOCOL (wrong JSON type) wins over BAD_REQUEST
// (right type, invalid value), as section 8's precedence says.
import { RexecError } from '../errors.js';
import type { WireErrorCode } from '../errors.js';
import { isSignalName } from './constants.js';
import type { SignalName } from './constants.js';
import type { FrameHeader } from './frame.js';
import {
  member,
  optionalBoolean,
  optionalNumber,
  optionalObject,
  optionalString,
  optionalStringArray,
  optionalStringRecord,
  requiredId,
} from './members.js';

// ---- client → server -------------------------------------------------------------

/** `auth` (section 3). Members are only type-checked: their values are the server's to judge. */
export interface AuthRequest {
  readonly type: 'auth';
  readonly user: string | undefined;
  readonly cnonce: string | undefined;
  readonly proof: string | undefined;
}

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

/** `resize` (rexec extension): a pseudo-terminal's new size. */
export interface ResizeRequest {
  readonly type: 'resize';
  readonly id: number;
  readonly cols: number;
  readonly rows: number;
}

/** `stdin` (section 4): bytes for the process, then optionally end of input. */
export interface StdinRequest {
  readonly type: 'stdin';
  readonly id: number;
  readonly eof: boolean;
}

/** `signal` (section 4): delivered to the process group. */
export interface SignalRequest {
  readonly type: 'signal';
  readonly id: number;
  readonly signal: SignalName;
}

/** `ping` (section 4). */
export interface PingRequest {
  readonly type: 'ping';
  readonly ts: unknown;
}

/** `put` (PROTOCOL-files.md): write a file of exactly `size` bytes at `path`. */
export interface PutRequest {
  readonly type: 'put';
  readonly id: number;
  readonly path: string;
  readonly size: number;
  /** Permission bits the file gets exactly (0o644 when absent). */
  readonly mode: number;
  readonly overwrite: boolean;
  readonly mkdirs: boolean;
  /** rexec: the file's modification time (ms since the epoch), as `scp -p` keeps it. */
  readonly mtimeMs?: number;
}

/** `get` (PROTOCOL-files.md): read the file at `path`. */
export interface GetRequest {
  readonly type: 'get';
  readonly id: number;
  readonly path: string;
}

/** `data` from the client (PROTOCOL-files.md): content of an accepted `put`. */
export interface DataRequest {
  readonly type: 'data';
  readonly id: number;
  readonly eof: boolean;
}

export type Request =
  | AuthRequest
  | ExecRequest
  | StdinRequest
  | SignalRequest
  | PingRequest
  | PutRequest
  | GetRequest
  | DataRequest
  | ResizeRequest;

const REQUEST_TYPES = new Set(['auth', 'exec', 'stdin', 'signal', 'ping', 'put', 'get', 'data', 'resize']);

/** The mode a `put` without `mode` gives its file (PROTOCOL-files.md). */
export const DEFAULT_FILE_MODE = 0o644;

/** True when `type` is a frame type a client may send. */
export function isRequestType(type: string): type is Request['type'] {
  return REQUEST_TYPES.has(type);
}

/**
 * Validates a client frame's header. Throws `RexecError` with `PROTOCOL` (fatal),
 * `BAD_REQUEST` (with the id when it is valid) or `UNSUPPORTED` (unknown type).
 */
export function parseRequest(header: FrameHeader): Request {
  switch (header.type) {
    case 'auth':
      return {
        type: 'auth',
        user: optionalString(header, 'user'),
        cnonce: optionalString(header, 'cnonce'),
        proof: optionalString(header, 'proof'),
      };
    case 'exec':
      return parseExec(header);
    case 'resize':
      return parseResize(header);
    case 'stdin': {
      const eof = optionalBoolean(header, 'eof') ?? false;
      return { type: 'stdin', id: requiredId(header), eof };
    }
    case 'signal':
      return parseSignal(header);
    case 'ping':
      return { type: 'ping', ts: member(header, 'ts') };
    case 'put':
      return parsePut(header);
    case 'get':
      return parseGet(header);
    case 'data': {
      const eof = optionalBoolean(header, 'eof') ?? false;
      return { type: 'data', id: requiredId(header), eof };
    }
    default:
      throw new RexecError('UNSUPPORTED', `unknown frame type "${truncate(header.type)}"`);
  }
}

function parseExec(header: FrameHeader): ExecRequest {
  // Pass 1: JSON types (PROTOCOL).
  optionalNumber(header, 'id');
  const argv = optionalStringArray(header, 'argv');
  const command = optionalString(header, 'command');
  const cwd = optionalString(header, 'cwd');
  const env = optionalStringRecord(header, 'env') ?? [];
  const timeoutMs = optionalNumber(header, 'timeoutMs');
  const stdin = optionalBoolean(header, 'stdin') ?? false;
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
      throw bad(`"env" name ${JSON.stringify(truncate(name))} is not a valid variable name`);
    }
    if (hasNul(value)) throw bad(`"env" value of ${name} must not contain NUL`);
  }
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
    throw bad(`"timeoutMs" must be a positive integer, not ${timeoutMs}`);
  }
  let pty: PtySize | undefined;
  if (ptyHeader !== undefined) {
    const term = ptyTerm ?? DEFAULT_TERM;
    if (!/^[A-Za-z0-9._+-]{1,64}$/.test(term)) throw bad(`"pty.term" ${JSON.stringify(truncate(term))} is not a terminal type`);
    pty = { cols: terminalSide(ptyCols, 'pty.cols', bad), rows: terminalSide(ptyRows, 'pty.rows', bad), term };
  }
  return { type: 'exec', id, argv, command, cwd, env, timeoutMs, stdin, merge, pty };
}

function parseResize(header: FrameHeader): ResizeRequest {
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

function parseSignal(header: FrameHeader): SignalRequest {
  const signal = optionalString(header, 'signal');
  const id = requiredId(header);
  if (signal === undefined) throw new RexecError('BAD_REQUEST', '"signal" needs a "signal" name', { id });
  if (!isSignalName(signal)) {
    throw new RexecError('BAD_REQUEST', `unknown signal name "${truncate(signal)}"`, { id });
  }
  return { type: 'signal', id, signal };
}

function parsePut(header: FrameHeader): PutRequest {
  // Pass 1: JSON types (PROTOCOL).
  optionalNumber(header, 'id');
  const path = optionalString(header, 'path');
  const size = optionalNumber(header, 'size');
  const mode = optionalNumber(header, 'mode');
  const overwrite = optionalBoolean(header, 'overwrite') ?? false;
  const mkdirs = optionalBoolean(header, 'mkdirs') ?? false;
  const mtimeMs = optionalNumber(header, 'mtimeMs');
  // Pass 2: values (BAD_REQUEST).
  const id = requiredId(header);
  const bad = (message: string): RexecError => new RexecError('BAD_REQUEST', message, { id });
  checkPath(path, id);
  if (size === undefined) throw bad('"put" needs a "size"');
  if (!Number.isSafeInteger(size) || size < 0) throw bad(`"size" must be an integer >= 0, not ${size}`);
  if (mode !== undefined && !(Number.isInteger(mode) && mode >= 0 && mode <= 0o7777)) {
    throw bad(`"mode" must be permission bits, an integer 0..4095 (0o7777), not ${mode}`);
  }
  // Within the range of a Date: what a file system can hold, and utimes() takes.
  if (mtimeMs !== undefined && !(Number.isFinite(mtimeMs) && Math.abs(mtimeMs) <= 8.64e15)) {
    throw bad(`"mtimeMs" must be a time in milliseconds since the epoch, not ${mtimeMs}`);
  }
  const put: PutRequest = { type: 'put', id, path: path as string, size, mode: mode ?? DEFAULT_FILE_MODE, overwrite, mkdirs };
  return mtimeMs === undefined ? put : { ...put, mtimeMs };
}

function parseGet(header: FrameHeader): GetRequest {
  optionalNumber(header, 'id');
  const path = optionalString(header, 'path');
  const id = requiredId(header);
  checkPath(path, id);
  return { type: 'get', id, path: path as string };
}

// A transfer's path: present, not empty, no NUL (the file system could not take it).
function checkPath(path: string | undefined, id: number): void {
  if (path === undefined) throw new RexecError('BAD_REQUEST', 'a file transfer needs a "path"', { id });
  if (path === '') throw new RexecError('BAD_REQUEST', '"path" must not be empty', { id });
  if (hasNul(path)) throw new RexecError('BAD_REQUEST', '"path" must not contain NUL', { id });
}

function hasNul(text: string): boolean {
  return text.includes('\0');
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}...` : text;
}

// ---- server → client -------------------------------------------------------------

/** The limits a server announces in `hello`. */
export interface HelloLimits {
  readonly maxHeader: number;
  readonly maxBody: number;
  readonly maxConcurrent: number;
}

/** `hello` (section 3), the server's first frame. */
export interface HelloMessage {
  readonly type: 'hello';
  readonly protocol: number;
  readonly server: string;
  readonly auth: 'hmac-sha256' | 'none';
  readonly nonce: string;
  readonly shell: boolean;
  /** Whether the server implements the file transfer extension (PROTOCOL-files.md). */
  readonly files: boolean;
  /** Whether `exec.pty` and `resize` are supported (rexec extension). */
  readonly pty: boolean;
  readonly limits: HelloLimits;
}

export interface AuthOkMessage {
  readonly type: 'auth-ok';
  readonly user: string;
  readonly proof: string;
}

export interface StartedMessage {
  readonly type: 'started';
  readonly id: number;
  readonly pid: number;
}

export interface OutputMessage {
  readonly type: 'stdout' | 'stderr';
  readonly id: number;
}

/** How a command ended: the members of `exit` beside its type and id (section 4). */
export interface ExitStatus {
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** Name of the signal that ended it, or null. */
  readonly signal: string | null;
  /** The server's run time limit ended it. */
  readonly timedOut: boolean;
  /** The server's output cap was reached and the process group ended. */
  readonly truncated: boolean;
  /** Bytes of stdout sent for this id. */
  readonly stdoutBytes: number;
  /** Bytes of stderr sent for this id. */
  readonly stderrBytes: number;
  /** Run time on the server, in whole milliseconds. */
  readonly durationMs: number;
  /**
   * rexec: true when the server's stdin limit cut the input; absent otherwise. The
   * process got the first `stdinBytes` bytes, then end of file.
   */
  readonly stdinTruncated?: boolean;
  /** rexec: with `stdinTruncated`, how many bytes of stdin the server kept (its limit). */
  readonly stdinBytes?: number;
}

export interface ExitMessage extends ExitStatus {
  readonly type: 'exit';
  readonly id: number;
}

export interface ErrorMessage {
  readonly type: 'error';
  readonly code: WireErrorCode | string;
  readonly message: string;
  readonly id?: number;
}

export interface PongMessage {
  readonly type: 'pong';
  readonly ts?: unknown;
}

/** `ready`: a `put` was accepted; its `data` may follow. */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly id: number;
}

/** `file`: a `get` was accepted; `data` frames follow. */
export interface FileMessage {
  readonly type: 'file';
  readonly id: number;
  readonly size: number;
  readonly mode: number;
  readonly mtimeMs: number;
}

/** `data` from the server: content of a `get`. */
export interface DataMessage {
  readonly type: 'data';
  readonly id: number;
  readonly eof: boolean;
}

/** `done`: the transfer is complete (and, for a `put`, durable). */
export interface DoneMessage {
  readonly type: 'done';
  readonly id: number;
  readonly bytes: number;
  readonly sha256: string;
}

export type ServerMessage =
  | HelloMessage
  | AuthOkMessage
  | StartedMessage
  | OutputMessage
  | ExitMessage
  | ErrorMessage
  | PongMessage
  | ReadyMessage
  | FileMessage
  | DataMessage
  | DoneMessage;

/**
 * Validates a server frame's header for a client. Members of the wrong type are
 * `UNEXPECTED_FRAME`: a client cannot trust a stream that breaks the contract. Frame
 * types it does not know return undefined (to be ignored).
 */
export function parseServerMessage(header: FrameHeader): ServerMessage | undefined {
  try {
    return parseServerMessageStrict(header);
  } catch (error) {
    if (error instanceof RexecError) {
      throw new RexecError('UNEXPECTED_FRAME', `server sent a bad "${truncate(header.type)}": ${error.message}`);
    }
    throw error;
  }
}

function parseServerMessageStrict(header: FrameHeader): ServerMessage | undefined {
  const id = (): number => requiredId(header);
  switch (header.type) {
    case 'hello': {
      const limits = member(header, 'limits') ?? {};
      if (typeof limits !== 'object' || Array.isArray(limits)) {
        throw new RexecError('PROTOCOL', '"limits" must be an object');
      }
      const rawLimits = limits as FrameHeader;
      const auth = optionalString(header, 'auth') ?? 'hmac-sha256';
      if (auth !== 'none' && auth !== 'hmac-sha256') {
        throw new RexecError('PROTOCOL', `unknown auth method "${truncate(auth)}"`);
      }
      return {
        type: 'hello',
        protocol: optionalNumber(header, 'protocol') ?? 0,
        server: optionalString(header, 'server') ?? '',
        auth,
        nonce: optionalString(header, 'nonce') ?? '',
        shell: optionalBoolean(header, 'shell') ?? false,
        files: optionalBoolean(header, 'files') ?? false,
        pty: optionalBoolean(header, 'pty') ?? false,
        limits: {
          maxHeader: optionalNumber(rawLimits, 'maxHeader') ?? 65536,
          maxBody: optionalNumber(rawLimits, 'maxBody') ?? 1048576,
          maxConcurrent: optionalNumber(rawLimits, 'maxConcurrent') ?? 1,
        },
      };
    }
    case 'auth-ok':
      return {
        type: 'auth-ok',
        user: optionalString(header, 'user') ?? '',
        proof: optionalString(header, 'proof') ?? '',
      };
    case 'started':
      return { type: 'started', id: id(), pid: optionalNumber(header, 'pid') ?? 0 };
    case 'stdout':
    case 'stderr':
      return { type: header.type, id: id() };
    case 'exit':
      return {
        type: 'exit',
        id: id(),
        code: optionalNumber(header, 'code') ?? null,
        signal: optionalString(header, 'signal') ?? null,
        timedOut: optionalBoolean(header, 'timedOut') ?? false,
        truncated: optionalBoolean(header, 'truncated') ?? false,
        stdoutBytes: optionalNumber(header, 'stdoutBytes') ?? 0,
        stderrBytes: optionalNumber(header, 'stderrBytes') ?? 0,
        durationMs: optionalNumber(header, 'durationMs') ?? 0,
        ...(optionalBoolean(header, 'stdinTruncated') === true
          ? { stdinTruncated: true, stdinBytes: optionalNumber(header, 'stdinBytes') ?? 0 }
          : {}),
      };
    case 'error': {
      const idValue = member(header, 'id');
      const base = {
        type: 'error' as const,
        code: optionalString(header, 'code') ?? 'PROTOCOL',
        message: optionalString(header, 'message') ?? '',
      };
      return idValue === undefined ? base : { ...base, id: id() };
    }
    case 'pong':
      return { type: 'pong', ts: member(header, 'ts') };
    case 'ready':
      return { type: 'ready', id: id() };
    case 'file':
      return {
        type: 'file',
        id: id(),
        size: optionalNumber(header, 'size') ?? 0,
        mode: optionalNumber(header, 'mode') ?? 0,
        mtimeMs: optionalNumber(header, 'mtimeMs') ?? 0,
      };
    case 'data':
      return { type: 'data', id: id(), eof: optionalBoolean(header, 'eof') ?? false };
    case 'done':
      return {
        type: 'done',
        id: id(),
        bytes: optionalNumber(header, 'bytes') ?? 0,
        sha256: optionalString(header, 'sha256') ?? '',
      };
    default:
      // Section 2: members (and, for forward compatibility, frame types) a receiver
      // does not know are ignored.
      return undefined;
  }
}
