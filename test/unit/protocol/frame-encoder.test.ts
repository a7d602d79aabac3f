// encodeFrame / encodeFrameBuffer / encodePrefix (docs/protocol.md section 2).
import { describe, it, expect } from 'vitest';
import { RexecError } from '../../../src/errors.js';
import { MAX_BODY_LENGTH, MAX_HEADER_LENGTH, PREFIX_LENGTH } from '../../../src/protocol/constants.js';
import { encodeFrame, encodeFrameBuffer, encodePrefix } from '../../../src/protocol/frame-encoder.js';
import { decodeAll, rexecErrorOf } from './harness.js';

/** A header whose compact JSON is exactly `bytes` long: {"type":"pad","p":"aaa..."}. */
function headerOfLength(bytes: number): { type: string; p: string } {
  const overhead = JSON.stringify({ type: 'pad', p: '' }).length;
  return { type: 'pad', p: 'a'.repeat(bytes - overhead) };
}

describe('encodeFrame', () => {
  it('returns the prefix with the compact JSON header, and the body apart', () => {
    const body = Buffer.from('hello\n');
    const [head, rest] = encodeFrame({ type: 'stdout', id: 1 }, body);
    const json = '{"type":"stdout","id":1}';
    expect(head.readUInt32BE(0)).toBe(json.length);
    expect(head.readUInt32BE(4)).toBe(6);
    expect(head.subarray(PREFIX_LENGTH).toString('utf8')).toBe(json);
    expect(head.length).toBe(PREFIX_LENGTH + json.length);
    expect(rest).toBe(body);
  });

  it('never copies the body: a Buffer comes back as itself', () => {
    const body = Buffer.alloc(100_000, 7);
    expect(encodeFrame({ type: 'stdin', id: 3 }, body)[1]).toBe(body);
  });

  it('turns a plain Uint8Array body into a Buffer over the same memory', () => {
    const memory = new Uint8Array([9, 1, 2, 3, 4, 9]);
    const view = memory.subarray(1, 5);
    const [, rest] = encodeFrame({ type: 'stdin', id: 3 }, view);
    expect(Buffer.isBuffer(rest)).toBe(true);
    expect([...rest]).toStrictEqual([1, 2, 3, 4]);
    memory[2] = 42;
    expect(rest[1]).toBe(42);
  });

  it('has an empty body by default', () => {
    const [head, rest] = encodeFrame({ type: 'ping' });
    expect(rest.length).toBe(0);
    expect(head.readUInt32BE(4)).toBe(0);
  });

  it('counts header length in UTF-8 bytes, not UTF-16 units', () => {
    const header = { type: 'exec', id: 2, argv: ['echo', '粘包', '\u{1F600}'] };
    const [head] = encodeFrame(header);
    const json = JSON.stringify(header);
    expect(json.length).toBeLessThan(Buffer.byteLength(json, 'utf8'));
    expect(head.readUInt32BE(0)).toBe(Buffer.byteLength(json, 'utf8'));
    expect(head.subarray(PREFIX_LENGTH).toString('utf8')).toBe(json);
  });

  it('accepts a header of exactly the limit, and refuses one byte more with FRAME_TOO_LARGE', () => {
    const [head] = encodeFrame(headerOfLength(MAX_HEADER_LENGTH));
    expect(head.readUInt32BE(0)).toBe(MAX_HEADER_LENGTH);
    const error = rexecErrorOf(() => encodeFrame(headerOfLength(MAX_HEADER_LENGTH + 1)));
    expect(error.code).toBe('FRAME_TOO_LARGE');
  });

  it('accepts a body of exactly 1 MiB, and refuses one byte more with FRAME_TOO_LARGE', () => {
    const [head] = encodeFrame({ type: 'stdout', id: 1 }, Buffer.alloc(MAX_BODY_LENGTH));
    expect(head.readUInt32BE(4)).toBe(MAX_BODY_LENGTH);
    const error = rexecErrorOf(() => encodeFrame({ type: 'stdout', id: 1 }, Buffer.alloc(MAX_BODY_LENGTH + 1)));
    expect(error.code).toBe('FRAME_TOO_LARGE');
  });

  it('escapes a lone surrogate, so the header is still valid UTF-8 and decodes back', () => {
    const header = { type: 'ping', ts: 'a\ud800b' };
    const bytes = encodeFrameBuffer(header);
    expect(bytes.subarray(PREFIX_LENGTH).toString('latin1')).toBe('{"type":"ping","ts":"a\\ud800b"}');
    expect(decodeAll([bytes])[0]?.header).toStrictEqual(header);
  });
});

describe('encodeFrameBuffer', () => {
  it('is the two parts of encodeFrame in one buffer', () => {
    const body = Buffer.from([0, 255, 10, 13]);
    const [head, rest] = encodeFrame({ type: 'stdin', id: 7 }, body);
    expect(encodeFrameBuffer({ type: 'stdin', id: 7 }, body).equals(Buffer.concat([head, rest]))).toBe(true);
  });

  it('is the prefix and header alone for an empty body', () => {
    const bytes = encodeFrameBuffer({ type: 'ping' });
    expect(bytes.toString('hex')).toBe('0000000f000000007b2274797065223a2270696e67227d');
  });

  it('decodes back to the same header and body', () => {
    const header = { type: 'exit', id: 1, code: null, signal: 'SIGTERM', timedOut: true };
    const body = Buffer.from('\u0000binary\u00ff', 'latin1');
    const [frame] = decodeAll([encodeFrameBuffer(header, body)]);
    expect(frame?.header).toStrictEqual(header);
    expect(frame?.body.equals(body)).toBe(true);
  });
});

describe('encodePrefix', () => {
  it('writes both lengths as big-endian u32', () => {
    expect(encodePrefix(0x18, 6).toString('hex')).toBe('0000001800000006');
    expect(encodePrefix(MAX_HEADER_LENGTH, MAX_BODY_LENGTH).toString('hex')).toBe('0001000000100000');
  });

  it('matches the prefix encodeFrame writes', () => {
    const [head, body] = encodeFrame({ type: 'stdout', id: 12 }, Buffer.from('abc'));
    const prefix = encodePrefix(head.length - PREFIX_LENGTH, body.length);
    expect(prefix.equals(head.subarray(0, PREFIX_LENGTH))).toBe(true);
  });

  it.each([
    ['an empty header', 0, 0],
    ['a header over the limit', MAX_HEADER_LENGTH + 1, 0],
    ['a body over the limit', 15, MAX_BODY_LENGTH + 1],
  ])('refuses %s with a RexecError', (_what, headerLength, bodyLength) => {
    const error = rexecErrorOf(() => encodePrefix(headerLength, bodyLength));
    expect(error).toBeInstanceOf(RexecError);
    expect(error.fatal).toBe(true);
  });

  it('calls lengths over the limits FRAME_TOO_LARGE', () => {
    expect(rexecErrorOf(() => encodePrefix(MAX_HEADER_LENGTH + 1, 0)).code).toBe('FRAME_TOO_LARGE');
    expect(rexecErrorOf(() => encodePrefix(1, MAX_BODY_LENGTH + 1)).code).toBe('FRAME_TOO_LARGE');
  });
});

describe('encodePrefix argument checks', () => {
  it('says PROTOCOL for an empty header, as the decoder would, and refuses non-integer lengths', () => {
    expect(() => encodePrefix(0, 0)).toThrow(expect.objectContaining({ code: 'PROTOCOL' }));
    expect(() => encodePrefix(5, -1)).toThrow(RangeError);
    expect(() => encodePrefix(5, 1.5)).toThrow(RangeError);
  });

  it('says which length is wrong', () => {
    expect(() => encodePrefix(5, -1)).toThrow('frame lengths must be non-negative integers, not 5/-1');
    expect(() => encodePrefix(2.5, 1)).toThrow('frame lengths must be non-negative integers, not 2.5/1');
    expect(() => encodePrefix(0, 0)).toThrow('a header cannot be empty (section 2: 1 <= H)');
    expect(() => encodePrefix(MAX_HEADER_LENGTH + 1, 0)).toThrow(
      `header of ${MAX_HEADER_LENGTH + 1} bytes is over ${MAX_HEADER_LENGTH}`,
    );
    expect(() => encodePrefix(1, MAX_BODY_LENGTH + 1)).toThrow(
      `body of ${MAX_BODY_LENGTH + 1} bytes is over ${MAX_BODY_LENGTH}`,
    );
  });
});
