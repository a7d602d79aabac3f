// The golden bytes: test/vectors/protocol-v1.json (a copy of the shared vectors) and
// test/vectors/extra-v1.json, through the encoder and the decoder, in every split.
import { existsSync, readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { RexecError } from '../../../src/errors.js';
import { MAX_BODY_LENGTH, MAX_HEADER_LENGTH, PREFIX_LENGTH } from '../../../src/protocol/constants.js';
import { encodeFrame, encodeFrameBuffer } from '../../../src/protocol/frame-encoder.js';
import {
  VECTORS_DIR,
  bytesOf,
  codeOf,
  decodeAll,
  decodeChunks,
  hex,
  loadExtra,
  loadShared,
  oneByteAtATime,
  rexecErrorOf,
} from './harness.js';
import type { FrameVector, MalformedVector } from './harness.js';

const shared = loadShared();
const extra = loadExtra();
const allFrames: FrameVector[] = [...shared.frames, ...extra.frames];
const allMalformed: MalformedVector[] = [...shared.malformed, ...extra.malformed];

const projectRoot = new URL('../../', VECTORS_DIR);
const sharedFile = new URL('../shared/vectors/protocol-v1.json', projectRoot);
const sharedExists = existsSync(sharedFile);

describe('the project copy of the shared vectors', () => {
  it('holds frames, a stream, an HMAC example and malformed inputs', () => {
    expect(shared.frames.length).toBeGreaterThanOrEqual(7);
    expect(shared.malformed.length).toBeGreaterThanOrEqual(8);
    expect(shared.auth.client_proof).toMatch(/^[0-9a-f]{64}$/);
  });

  // A clone elsewhere has no ../shared; then there is nothing to compare with.
  const withShared = it.runIf(sharedExists);
  withShared('is byte for byte ../shared/vectors/protocol-v1.json (only where ../shared exists)', () => {
    const ours = readFileSync(new URL('protocol-v1.json', VECTORS_DIR));
    expect(ours.equals(readFileSync(sharedFile))).toBe(true);
  });
});

describe.each(allFrames)('frame vector $name', (vector) => {
  const bytes = hex(vector.frame_hex);
  const body = hex(vector.body_hex);

  it('encodes to exactly frame_hex', () => {
    expect(encodeFrameBuffer(vector.header, body).toString('hex')).toBe(vector.frame_hex);
    const [head, rest] = encodeFrame(vector.header, body);
    expect(Buffer.concat([head, rest]).toString('hex')).toBe(vector.frame_hex);
    expect(rest.equals(body)).toBe(true);
  });

  it('declares the UTF-8 byte lengths of its header and body in the prefix', () => {
    const headerText = JSON.stringify(vector.header);
    expect(bytes.readUInt32BE(0)).toBe(Buffer.byteLength(headerText, 'utf8'));
    expect(bytes.readUInt32BE(4)).toBe(body.length);
  });

  it('decodes back to its header and body, at once and one byte at a time', () => {
    for (const frames of [decodeAll([bytes]), decodeAll(oneByteAtATime(bytes))]) {
      expect(frames).toHaveLength(1);
      expect(frames[0]?.header).toStrictEqual(vector.header);
      expect(frames[0]?.body.toString('hex')).toBe(vector.body_hex);
    }
  });
});

describe('stream_of_first_four', () => {
  const stream = hex(shared.stream_of_first_four_hex);
  const expected = shared.frames.slice(0, 4);

  const check = (chunks: Iterable<Buffer>): void => {
    const frames = decodeAll(chunks);
    expect(frames.map((frame) => frame.header)).toStrictEqual(expected.map((v) => v.header));
    expect(frames.map((frame) => frame.body.toString('hex'))).toStrictEqual(expected.map((v) => v.body_hex));
  };

  it('is the first four frames back to back', () => {
    expect(shared.stream_of_first_four_hex).toBe(expected.map((v) => v.frame_hex).join(''));
  });

  it('decodes fed all at once', () => check([stream]));

  it('decodes fed one byte at a time', () => check(oneByteAtATime(stream)));

  it('decodes split in two at every point', () => {
    for (let cut = 1; cut < stream.length; cut += 1) {
      check([stream.subarray(0, cut), stream.subarray(cut)]);
    }
  });

  it('decodes split in three at every pair of points', () => {
    for (let a = 1; a < stream.length - 1; a += 3) {
      for (let b = a + 1; b < stream.length; b += 1) {
        check([stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]);
      }
    }
  });
});

describe.each(extra.decodes)('decode vector $name', (vector) => {
  it('decodes to the expected frame, at once and in 1000-byte reads', () => {
    const bytes = bytesOf(vector);
    const reads = Array.from({ length: Math.ceil(bytes.length / 1000) }, (_, i) =>
      bytes.subarray(i * 1000, (i + 1) * 1000),
    );
    for (const frames of [decodeAll([bytes]), decodeAll(reads)]) {
      expect(frames).toHaveLength(1);
      const [frame] = frames;
      if (vector.header !== undefined) expect(frame?.header).toStrictEqual(vector.header);
      if (vector.header_type !== undefined) expect(frame?.header.type).toBe(vector.header_type);
      if (vector.body_hex !== undefined) expect(frame?.body.toString('hex')).toBe(vector.body_hex);
      if (vector.body_length !== undefined) expect(frame?.body.length).toBe(vector.body_length);
    }
  });
});

/** True when the 8-byte prefix alone decides the error (section 2: checked before the rest). */
function decidedByPrefix(frame: Buffer): boolean {
  const headerLength = frame.readUInt32BE(0);
  return headerLength === 0 || headerLength > MAX_HEADER_LENGTH || frame.readUInt32BE(4) > MAX_BODY_LENGTH;
}

/** Bytes of the whole frames before the bad one. */
function lengthOfFrames(bytes: Buffer, count: number): number {
  let offset = 0;
  for (let i = 0; i < count; i += 1) {
    offset += PREFIX_LENGTH + bytes.readUInt32BE(offset) + bytes.readUInt32BE(offset + 4);
  }
  return offset;
}

describe.each(allMalformed)('malformed vector $name', (vector) => {
  const bytes = bytesOf(vector);
  const before = vector.frames_before ?? 0;

  it(`is refused with ${vector.expect} when fed at once`, () => {
    const outcome = decodeChunks([bytes]);
    expect(codeOf(outcome.error)).toBe(vector.expect);
    expect(outcome.frames).toHaveLength(before);
  });

  it(`is refused with ${vector.expect} when fed one byte at a time`, () => {
    const outcome = decodeChunks(oneByteAtATime(bytes));
    expect(codeOf(outcome.error)).toBe(vector.expect);
    expect(outcome.frames).toHaveLength(before);
  });

  it('leaves the decoder refusing all further input with the same error', () => {
    const { error, decoder } = decodeChunks([bytes]);
    expect(error).toBeInstanceOf(RexecError);
    expect(decoder.failure).toBe(error);
    for (const more of [hex(shared.stream_of_first_four_hex), Buffer.alloc(0), Buffer.from([0])]) {
      expect(rexecErrorOf(() => decoder.push(more))).toBe(error);
    }
    expect(decoder.failure).toBe(error);
  });

  const start = lengthOfFrames(bytes, before);
  if (decidedByPrefix(bytes.subarray(start))) {
    it('is refused as soon as its 8-byte prefix is complete, before any more bytes', () => {
      const prefixEnd = start + PREFIX_LENGTH;
      expect(decodeChunks([bytes.subarray(0, prefixEnd - 1)]).error).toBeUndefined();
      expect(codeOf(decodeChunks([bytes.subarray(0, prefixEnd)]).error)).toBe(vector.expect);
      const byByte = decodeChunks(oneByteAtATime(bytes));
      expect(byByte.failedAtChunk).toBe(prefixEnd - 1);
    });
  }
});
