// Shared by the protocol tests: the vector files, and a decoder run that collects
// frames and the error instead of throwing, so a test can look at both.
import { readFileSync } from 'node:fs';
import { RexecError } from '../../../src/errors.js';
import { FrameDecoder } from '../../../src/protocol/frame-decoder.js';
import type { Frame, FrameHeader, FrameLimits } from '../../../src/protocol/frame.js';

/** A frame whose canonical encoding is `frame_hex`. */
export interface FrameVector {
  readonly name: string;
  readonly header: FrameHeader;
  readonly body_hex: string;
  readonly frame_hex: string;
  readonly note: string;
}

/** Input bytes: plain hex, or parts (each hex repeated `repeat` times) for large inputs. */
export interface BytesSpec {
  readonly bytes_hex?: string;
  readonly bytes_parts?: ReadonlyArray<{ readonly hex: string; readonly repeat?: number }>;
}

export interface MalformedVector extends BytesSpec {
  readonly name: string;
  readonly expect: 'PROTOCOL' | 'FRAME_TOO_LARGE';
  readonly frames_before?: number;
}

export interface DecodeVector extends BytesSpec {
  readonly name: string;
  readonly header?: FrameHeader;
  readonly header_type?: string;
  readonly body_hex?: string;
  readonly body_length?: number;
}

export interface SharedVectors {
  readonly frames: readonly FrameVector[];
  readonly stream_of_first_four_hex: string;
  readonly auth: {
    readonly key_text: string;
    readonly user: string;
    readonly snonce_b64: string;
    readonly cnonce_b64: string;
    readonly client_mac_input_hex: string;
    readonly client_proof: string;
    readonly server_proof: string;
  };
  readonly malformed: readonly MalformedVector[];
}

export interface ExtraVectors {
  readonly frames: readonly FrameVector[];
  readonly decodes: readonly DecodeVector[];
  readonly malformed: readonly MalformedVector[];
}

/** test/vectors/, as a URL (the project's own copies: no ../shared needed). */
export const VECTORS_DIR = new URL('../../vectors/', import.meta.url);

export function loadShared(): SharedVectors {
  return JSON.parse(readFileSync(new URL('protocol-v1.json', VECTORS_DIR), 'utf8')) as SharedVectors;
}

export function loadExtra(): ExtraVectors {
  return JSON.parse(readFileSync(new URL('extra-v1.json', VECTORS_DIR), 'utf8')) as ExtraVectors;
}

export function hex(text: string): Buffer {
  return Buffer.from(text, 'hex');
}

export function bytesOf(spec: BytesSpec): Buffer {
  if (spec.bytes_hex !== undefined) return hex(spec.bytes_hex);
  const parts = (spec.bytes_parts ?? []).map((part) => hex(part.hex.repeat(part.repeat ?? 1)));
  return Buffer.concat(parts);
}

/** What a decoder made of some chunks: the frames, the error (if any) and at which chunk. */
export interface DecodeOutcome {
  readonly frames: Frame[];
  readonly error: unknown;
  readonly failedAtChunk: number | undefined;
  readonly decoder: FrameDecoder;
}

export function decodeChunks(chunks: Iterable<Buffer>, limits?: Partial<FrameLimits>): DecodeOutcome {
  const frames: Frame[] = [];
  const decoder = new FrameDecoder((frame) => frames.push(frame), limits);
  let index = 0;
  for (const chunk of chunks) {
    try {
      decoder.push(chunk);
    } catch (error) {
      return { frames, error, failedAtChunk: index, decoder };
    }
    index += 1;
  }
  return { frames, error: undefined, failedAtChunk: undefined, decoder };
}

/** Decodes chunks that must be valid; throws whatever the decoder threw. */
export function decodeAll(chunks: Iterable<Buffer>, limits?: Partial<FrameLimits>): Frame[] {
  const outcome = decodeChunks(chunks, limits);
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- what the decoder threw, as it was
  if (outcome.error !== undefined) throw outcome.error;
  return outcome.frames;
}

/** A copy with its own ArrayBuffer (small Buffer.from/allocUnsafe results share one pool). */
export function ownMemory(bytes: Buffer): Buffer {
  const copy = Buffer.alloc(bytes.length);
  bytes.copy(copy);
  return copy;
}

export function* oneByteAtATime(bytes: Buffer): Generator<Buffer> {
  for (let i = 0; i < bytes.length; i += 1) yield bytes.subarray(i, i + 1);
}

/** Cuts bytes into reads of the given sizes, cycling through them. */
export function* cutBySizes(bytes: Buffer, sizes: readonly number[]): Generator<Buffer> {
  let offset = 0;
  for (let i = 0; offset < bytes.length; i += 1) {
    const size = Math.max(1, sizes.length === 0 ? bytes.length : (sizes[i % sizes.length] as number));
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

/** The error's code when it is a RexecError, else a description that fails any code match. */
export function codeOf(error: unknown): string {
  if (error instanceof RexecError) return error.code;
  return `not a RexecError: ${String(error)}`;
}

/** Asserts fn throws a RexecError and returns it. */
export function rexecErrorOf(fn: () => unknown): RexecError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RexecError) return error;
    throw new Error(`expected a RexecError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a RexecError, but nothing was thrown');
}
