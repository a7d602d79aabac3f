// What a client may send (docs/protocol.md sections 3-4, 9 and 10): one table from
// frame type to parser. The list of request types, the Request union and the server's
// table of handlers all come from it, so a type is added in one place.
import { RexecError } from '../errors.js';
import { isSignalName, MAX_HEADER_LENGTH } from './constants.js';
import type { SignalName } from './constants.js';
import { parseExec, parseResize } from './exec-requests.js';
import { parseData, parseGet, parsePut } from './file-requests.js';
import type { FrameHeader } from './frame.js';
import { clipQuoted, member, optionalBoolean, optionalString, requiredId } from './members.js';

/** `auth` (section 3). Members are only type-checked: their values are the server's to judge. */
export interface AuthRequest {
  readonly type: 'auth';
  readonly user: string | undefined;
  readonly cnonce: string | undefined;
  readonly proof: string | undefined;
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

const PARSERS = {
  auth: parseAuth,
  exec: parseExec,
  stdin: parseStdin,
  signal: parseSignal,
  ping: parsePing,
  put: parsePut,
  get: parseGet,
  data: parseData,
  resize: parseResize,
};

/** The frame types a client may send. */
export type RequestType = keyof typeof PARSERS;

/** A validated client frame header. */
export type Request = ReturnType<(typeof PARSERS)[RequestType]>;

/** The request of one type. */
export type RequestOf<T extends RequestType> = Extract<Request, { readonly type: T }>;

/** Every request type, in the table's order. */
export const REQUEST_TYPES: readonly RequestType[] = Object.keys(PARSERS).filter(isRequestType);

/** True when `type` is a frame type a client may send. */
export function isRequestType(type: string): type is RequestType {
  // Own keys only: "__proto__" or "toString" are frame types nobody defined.
  return Object.hasOwn(PARSERS, type);
}

/**
 * Validates a client frame's header. Throws `RexecError` with `PROTOCOL` (fatal),
 * `BAD_REQUEST` (with the id when it is valid) or `UNSUPPORTED` (unknown type).
 */
export function parseRequest(header: FrameHeader): Request {
  const { type } = header;
  if (!isRequestType(type)) throw new RexecError('UNSUPPORTED', `unknown frame type "${clipQuoted(type)}"`);
  return PARSERS[type](header);
}

/** Validates an `auth` header (the one request a connection takes before auth-ok). */
export function parseAuth(header: FrameHeader): AuthRequest {
  return {
    type: 'auth',
    user: optionalString(header, 'user'),
    cnonce: optionalString(header, 'cnonce'),
    proof: optionalString(header, 'proof'),
  };
}

function parseStdin(header: FrameHeader): StdinRequest {
  const eof = optionalBoolean(header, 'eof') ?? false;
  return { type: 'stdin', id: requiredId(header), eof };
}

function parseSignal(header: FrameHeader): SignalRequest {
  const signal = optionalString(header, 'signal');
  const id = requiredId(header);
  if (signal === undefined) throw new RexecError('BAD_REQUEST', '"signal" needs a "signal" name', { id });
  if (!isSignalName(signal)) {
    throw new RexecError('BAD_REQUEST', `unknown signal name "${clipQuoted(signal)}"`, { id });
  }
  return { type: 'signal', id, signal };
}

// The pong echoes `ts` as JSON.stringify writes it, which can be longer than it arrived
// (`1E20` comes back as 21 digits): a ts whose pong would be over the header limit is
// refused here, as ws refuses an oversized ping payload, rather than failing to encode.
function parsePing(header: FrameHeader): PingRequest {
  const ts = member(header, 'ts');
  if (ts !== undefined && Buffer.byteLength(JSON.stringify({ type: 'pong', ts })) > MAX_HEADER_LENGTH) {
    throw new RexecError('BAD_REQUEST', `"ts" is too large to echo: its pong would be over ${MAX_HEADER_LENGTH} bytes`);
  }
  return { type: 'ping', ts };
}
