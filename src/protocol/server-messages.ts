// What a server sends (docs/protocol.md sections 3-4 and 9) and its validation on the
// client's side: a member of the wrong type is UNEXPECTED_FRAME, since a client
// cannot trust a stream that breaks the contract.
import { RexecError } from '../errors.js';
import type { WireErrorCode } from '../errors.js';
import { MAX_BODY_LENGTH, MAX_HEADER_LENGTH } from './constants.js';
import type { FrameHeader } from './frame.js';
import { clipQuoted, member, optionalBoolean, optionalNumber, optionalString, requiredId } from './members.js';

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
  /** Whether the server implements the file transfer extension (docs/protocol.md section 9). */
  readonly files: boolean;
  /** Whether `exec.pty` and `resize` are supported (rexec extension). */
  readonly pty: boolean;
  /**
   * rexec extension: the stdin window, when the server acknowledges stdin on request
   * (`exec.stdinAck`, `stdin-ack`); undefined when it does not.
   */
  readonly stdinWindow?: number;
  readonly limits: HelloLimits;
}

/** `stdin-ack` (rexec extension): the process's pipe took `bytes` more of request `id`'s stdin. */
export interface StdinAckMessage {
  readonly type: 'stdin-ack';
  readonly id: number;
  readonly bytes: number;
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
  /** One of rexec's codes, or another that a newer server sends (`string & {}` keeps the names in the type). */
  readonly code: WireErrorCode | (string & {});
  readonly message: string;
  readonly id?: number;
  /**
   * rexec extension (docs/protocol.md section 8): the refusal is momentary (connections
   * still authenticating); a client may try again after about this many ms.
   */
  readonly retryMs?: number;
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
  | StdinAckMessage
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
      throw new RexecError('UNEXPECTED_FRAME', `server sent a bad "${clipQuoted(header.type)}": ${error.message}`);
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
        throw new RexecError('PROTOCOL', `unknown auth method "${clipQuoted(auth)}"`);
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
        ...stdinWindowOf(header),
        limits: {
          maxHeader: optionalNumber(rawLimits, 'maxHeader') ?? MAX_HEADER_LENGTH,
          maxBody: optionalNumber(rawLimits, 'maxBody') ?? MAX_BODY_LENGTH,
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
    case 'stdin-ack': {
      const bytes = optionalNumber(header, 'bytes');
      if (bytes === undefined || !Number.isSafeInteger(bytes) || bytes <= 0) {
        throw new RexecError('PROTOCOL', '"bytes" of stdin-ack must be a positive integer');
      }
      return { type: 'stdin-ack', id: id(), bytes };
    }
    case 'stdout':
    case 'stderr':
      return { type: header.type, id: id() };
    case 'exit':
      return {
        type: 'exit',
        id: id(),
        code: exitCode(optionalNumber(header, 'code')),
        signal: signalOf(optionalString(header, 'signal')),
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
      return { ...base, ...(idValue === undefined ? {} : { id: id() }), ...retryOf(header) };
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

// A window a client can keep to: a positive whole number of bytes, else none.
// A retry hint is a whole number of ms: a negative, fractional or huge one is no hint
// (a member of the wrong type is a broken stream, as everywhere).
function retryOf(header: FrameHeader): { retryMs?: number } {
  const retryMs = optionalNumber(header, 'retryMs');
  return retryMs !== undefined && Number.isSafeInteger(retryMs) && retryMs >= 0 ? { retryMs } : {};
}

function stdinWindowOf(header: FrameHeader): { stdinWindow?: number } {
  const window = optionalNumber(header, 'stdinWindow');
  return window !== undefined && Number.isSafeInteger(window) && window > 0 ? { stdinWindow: window } : {};
}

// A process's exit status is a whole number 0..255: anything else (3.7, 256, -1) is a
// broken or hostile server, never a status for the client to exit with.
function exitCode(code: number | undefined): number | null {
  if (code === undefined) return null;
  if (!Number.isInteger(code) || code < 0 || code > 255) {
    throw new RexecError('PROTOCOL', `"code" of exit must be an integer 0..255, not ${code}`);
  }
  return code;
}

// A signal's name as the server spells it (SIGTERM, SIGSEGV, ...).
function signalOf(signal: string | undefined): string | null {
  if (signal === undefined) return null;
  if (!/^SIG[A-Z0-9+-]{1,16}$/.test(signal)) {
    throw new RexecError('PROTOCOL', `"signal" of exit is not a signal name: ${JSON.stringify(clipQuoted(signal))}`);
  }
  return signal;
}
