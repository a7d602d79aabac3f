// Pure frame encoding: a frame becomes [prefix + header, body], so that a writer can
// send the body without copying it (docs/protocol.md section 2).
import { RexecError } from '../errors.js';
import { MAX_BODY_LENGTH, MAX_HEADER_LENGTH, PREFIX_LENGTH } from './constants.js';

const EMPTY = Buffer.alloc(0);

/** Encodes a frame as two buffers: the 8-byte prefix with the JSON header, and the body. */
export function encodeFrame(header: object, body: Uint8Array = EMPTY): [Buffer, Buffer] {
  const json = JSON.stringify(header);
  // Stryker disable next-line StringLiteral: 'utf8' is the default encoding, written out because the protocol says UTF-8.
  const headerLength = Buffer.byteLength(json, 'utf8');
  checkLengths(headerLength, body.length);
  const head = Buffer.allocUnsafe(PREFIX_LENGTH + headerLength);
  head.writeUInt32BE(headerLength, 0);
  head.writeUInt32BE(body.length, 4);
  // Stryker disable next-line StringLiteral: 'utf8' is the default encoding, written out because the protocol says UTF-8.
  head.write(json, PREFIX_LENGTH, 'utf8');
  return [head, toBuffer(body)];
}

/** Encodes a frame into one contiguous buffer (tests, small control frames). */
export function encodeFrameBuffer(header: object, body: Uint8Array = EMPTY): Buffer {
  const [head, rest] = encodeFrame(header, body);
  // Stryker disable next-line ConditionalExpression: a fast path; concat with an empty body gives the same bytes.
  return rest.length === 0 ? head : Buffer.concat([head, rest]);
}

/**
 * A prefix for a header whose bytes are already encoded: hot paths cache the header
 * bytes of `{"type":"stdout","id":n}` once and only build these 8 bytes per frame.
 */
export function encodePrefix(headerLength: number, bodyLength: number): Buffer {
  checkLengths(headerLength, bodyLength);
  const prefix = Buffer.allocUnsafe(PREFIX_LENGTH);
  prefix.writeUInt32BE(headerLength, 0);
  prefix.writeUInt32BE(bodyLength, 4);
  return prefix;
}

function checkLengths(headerLength: number, bodyLength: number): void {
  if (!Number.isInteger(headerLength) || !Number.isInteger(bodyLength) || bodyLength < 0) {
    throw new RangeError(`frame lengths must be non-negative integers, not ${headerLength}/${bodyLength}`);
  }
  if (headerLength === 0) throw new RexecError('PROTOCOL', 'a header cannot be empty (section 2: 1 <= H)');
  if (headerLength > MAX_HEADER_LENGTH) {
    throw new RexecError('FRAME_TOO_LARGE', `header of ${headerLength} bytes is over ${MAX_HEADER_LENGTH}`);
  }
  if (bodyLength > MAX_BODY_LENGTH) {
    throw new RexecError('FRAME_TOO_LARGE', `body of ${bodyLength} bytes is over ${MAX_BODY_LENGTH}`);
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
