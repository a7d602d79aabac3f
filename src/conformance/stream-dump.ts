// Reading a captured byte stream as frames, for `rexec frames decode`: where each frame
// starts, its lengths, header and body, and the exact offset where the stream stops
// being valid, with the protocol's error code (docs/protocol.md section 2). The decoding
// itself is the protocol layer's FrameDecoder; this only keeps track of offsets.
import { RexecError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { MAX_BODY_LENGTH, MAX_HEADER_LENGTH, PREFIX_LENGTH } from '../protocol/constants.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import type { FrameHeader } from '../protocol/frame.js';

/** One frame of the stream. */
export interface DumpedFrame {
  readonly index: number;
  /** Offset of its first prefix byte in the stream. */
  readonly offset: number;
  readonly headerLength: number;
  readonly bodyLength: number;
  readonly header: FrameHeader;
  readonly body: Buffer;
}

/** Where and why the stream stops being valid (or stops short of a whole frame). */
export interface StreamProblem {
  /** `invalid`: no receiver may accept this; `incomplete`: the bytes end inside a frame. */
  readonly kind: 'invalid' | 'incomplete';
  /** The error a receiver sends, for an invalid stream. */
  readonly code: ErrorCode | undefined;
  /** The first byte that makes the stream invalid (or where the cut frame starts). */
  readonly offset: number;
  /** The frame it happens in (counted from 0). */
  readonly frameIndex: number;
  /** Which part of that frame: the H field, the B field, the header, or the frame. */
  readonly part: 'header length' | 'body length' | 'header' | 'frame';
  readonly message: string;
}

/** The stream, frame by frame. */
export interface StreamDump {
  readonly length: number;
  readonly frames: readonly DumpedFrame[];
  readonly problem: StreamProblem | undefined;
}

/** Decodes a whole captured stream. */
export function dumpStream(bytes: Buffer): StreamDump {
  const frames: DumpedFrame[] = [];
  let cursor = 0;
  const decoder = new FrameDecoder((frame) => {
    const headerLength = bytes.readUInt32BE(cursor);
    const bodyLength = bytes.readUInt32BE(cursor + 4);
    frames.push({
      index: frames.length,
      offset: cursor,
      headerLength,
      bodyLength,
      header: frame.header,
      body: frame.body,
    });
    cursor += PREFIX_LENGTH + headerLength + bodyLength;
  });
  try {
    decoder.push(bytes);
  } catch (error) {
    if (!(error instanceof RexecError)) throw error;
    return { length: bytes.length, frames, problem: locate(bytes, cursor, frames.length, error) };
  }
  if (cursor === bytes.length) return { length: bytes.length, frames, problem: undefined };
  const have = bytes.length - cursor;
  const whole =
    have < PREFIX_LENGTH
      ? `${have} of the 8 prefix bytes`
      : `${have} of its ${PREFIX_LENGTH + bytes.readUInt32BE(cursor) + bytes.readUInt32BE(cursor + 4)} bytes`;
  return {
    length: bytes.length,
    frames,
    problem: {
      kind: 'incomplete',
      code: undefined,
      offset: cursor,
      frameIndex: frames.length,
      part: 'frame',
      message: `the stream ends inside frame ${frames.length}: it has ${whole}`,
    },
  };
}

// Section 2's order decides which field is at fault: H = 0, H over, then B over; else
// the header's content.
function locate(bytes: Buffer, start: number, frameIndex: number, error: RexecError): StreamProblem {
  const headerLength = bytes.readUInt32BE(start);
  const base = { kind: 'invalid' as const, code: error.code, frameIndex, message: error.message };
  if (headerLength === 0 || headerLength > MAX_HEADER_LENGTH) return { ...base, offset: start, part: 'header length' };
  if (bytes.readUInt32BE(start + 4) > MAX_BODY_LENGTH) return { ...base, offset: start + 4, part: 'body length' };
  const header = bytes.subarray(start + PREFIX_LENGTH, start + PREFIX_LENGTH + headerLength);
  return { ...base, offset: start + PREFIX_LENGTH + jsonErrorOffset(header), part: 'header' };
}

/** The byte offset of a JSON syntax error inside the header, when the parser says; else 0. */
function jsonErrorOffset(header: Buffer): number {
  const text = header.toString('utf8');
  try {
    JSON.parse(text);
  } catch (error) {
    const position = /at position (\d+)/.exec((error as Error).message)?.[1];
    if (position !== undefined) return Buffer.byteLength(text.slice(0, Number(position)), 'utf8');
  }
  return 0;
}
