// FrameDecoder and parseHeader (docs/protocol.md section 2): state, limits, errors, copies.
import { afterEach, describe, it, expect, vi } from 'vitest';
import { RexecError } from '../../../src/errors.js';
import { FrameDecoder, parseHeader } from '../../../src/protocol/frame-decoder.js';
import type { Frame } from '../../../src/protocol/frame.js';
import { encodeFrameBuffer, encodePrefix } from '../../../src/protocol/frame-encoder.js';
import { codeOf, decodeAll, decodeChunks, oneByteAtATime, ownMemory, rexecErrorOf } from './harness.js';

const ping = encodeFrameBuffer({ type: 'ping' });

function collector(): { frames: Frame[]; decoder: FrameDecoder } {
  const frames: Frame[] = [];
  return { frames, decoder: new FrameDecoder((frame) => frames.push(frame)) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('FrameDecoder state', () => {
  it('is idle with nothing buffered at the start and between frames, busy inside one', () => {
    const { frames, decoder } = collector();
    const frame = encodeFrameBuffer({ type: 'stdout', id: 1 }, Buffer.from('hello'));
    expect(decoder.idle).toBe(true);
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(frame.subarray(0, 3));
    expect(decoder.idle).toBe(false);
    expect(decoder.bufferedBytes).toBe(3);
    decoder.push(frame.subarray(3, frame.length - 2));
    expect(decoder.idle).toBe(false);
    expect(frames).toHaveLength(0);
    decoder.push(frame.subarray(frame.length - 2));
    expect(frames).toHaveLength(1);
    expect(decoder.idle).toBe(true);
    expect(decoder.bufferedBytes).toBe(0);
  });

  // A stream that ends here has cut a frame: the prefix is complete but nothing of its
  // header has arrived, so nothing is buffered and yet the decoder is inside a frame.
  it('is not idle right after a complete prefix, nor between a header and its body', () => {
    const { frames, decoder } = collector();
    const frame = encodeFrameBuffer({ type: 'stdout', id: 1 }, Buffer.from('hello'));
    decoder.push(frame.subarray(0, 8));
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.idle).toBe(false);
    decoder.push(frame.subarray(8, frame.length - 5));
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.idle).toBe(false);
    decoder.push(frame.subarray(frame.length - 5));
    expect(frames).toHaveLength(1);
    expect(decoder.idle).toBe(true);
  });

  it('keeps the bytes of the next frame after emitting one', () => {
    const { frames, decoder } = collector();
    decoder.push(Buffer.concat([ping, ping.subarray(0, 5)]));
    expect(frames).toHaveLength(1);
    expect(decoder.bufferedBytes).toBe(5);
    expect(decoder.idle).toBe(false);
  });

  it('ignores an empty chunk', () => {
    const { frames, decoder } = collector();
    decoder.push(Buffer.alloc(0));
    decoder.push(ping.subarray(0, 4));
    decoder.push(Buffer.alloc(0));
    decoder.push(ping.subarray(4));
    expect(frames.map((frame) => frame.header)).toStrictEqual([{ type: 'ping' }]);
  });

  it('hands out frames in stream order with their own bodies', () => {
    const chunk = Buffer.concat([
      encodeFrameBuffer({ type: 'stdout', id: 1 }, Buffer.from('a')),
      encodeFrameBuffer({ type: 'stderr', id: 1 }, Buffer.from('bb')),
      encodeFrameBuffer({ type: 'exit', id: 1, code: 0 }),
    ]);
    const frames = decodeAll([chunk]);
    expect(frames.map((frame) => frame.header.type)).toStrictEqual(['stdout', 'stderr', 'exit']);
    expect(frames.map((frame) => frame.body.toString())).toStrictEqual(['a', 'bb', '']);
  });
});

describe('FrameDecoder errors', () => {
  it('delivers the frames before a bad one, then throws, and drops the frames after it', () => {
    const bad = Buffer.from('0000000000000000', 'hex');
    const outcome = decodeChunks([Buffer.concat([ping, ping, bad, ping])]);
    expect(codeOf(outcome.error)).toBe('PROTOCOL');
    expect(outcome.frames).toHaveLength(2);
    expect(outcome.decoder.bufferedBytes).toBe(0);
  });

  it('refuses a bad header as soon as the header is complete, without waiting for its body', () => {
    const header = Buffer.from('{"type":5}');
    const prefix = encodePrefix(header.length, 1000);
    const outcome = decodeChunks([prefix, header]);
    expect(codeOf(outcome.error)).toBe('PROTOCOL');
    expect(outcome.failedAtChunk).toBe(1);
  });

  it('checks H = 0 before the limits, and H before B (section 2 order)', () => {
    expect(codeOf(decodeChunks([Buffer.from('00000000ffffffff', 'hex')]).error)).toBe('PROTOCOL');
    const error = decodeChunks([Buffer.from('0001000100100001', 'hex')]).error;
    expect(codeOf(error)).toBe('FRAME_TOO_LARGE');
    expect((error as RexecError).message).toMatch(/header/);
  });

  it('refuses every push after a failure with the very same error, even an empty one', () => {
    const { decoder } = collector();
    const error = rexecErrorOf(() => decoder.push(Buffer.from('ffffffff00000000', 'hex')));
    expect(decoder.failure).toBe(error);
    for (const chunk of [ping, Buffer.alloc(0), Buffer.from([0])]) {
      expect(rexecErrorOf(() => decoder.push(chunk))).toBe(error);
    }
  });

  it("passes a frame handler's own error through unchanged (not blamed on the peer) and stops", () => {
    const bug = new TypeError('handler bug');
    const decoder = new FrameDecoder(() => {
      throw bug;
    });
    expect(() => decoder.push(ping)).toThrow(bug);
    expect(decoder.failure).toBe(bug);
    expect(() => decoder.push(ping)).toThrow(bug);
  });
});

describe('FrameDecoder limits', () => {
  const header = Buffer.from('{"type":"stdout","id":1}');

  it('enforces a smaller maxBody a peer announced: the limit passes, one more fails', () => {
    const limits = { maxBody: 10 };
    expect(decodeAll([encodeFrameBuffer({ type: 'stdout', id: 1 }, Buffer.alloc(10))], limits)).toHaveLength(1);
    const outcome = decodeChunks([encodePrefix(header.length, 11)], limits);
    expect(codeOf(outcome.error)).toBe('FRAME_TOO_LARGE');
  });

  it('enforces a smaller maxHeader: the limit passes, one more fails', () => {
    const limits = { maxHeader: header.length };
    expect(decodeAll([Buffer.concat([encodePrefix(header.length, 0), header])], limits)).toHaveLength(1);
    const outcome = decodeChunks([encodePrefix(header.length + 1, 0)], limits);
    expect(codeOf(outcome.error)).toBe('FRAME_TOO_LARGE');
  });

  it('keeps the protocol maximum for a limit not given', () => {
    const frames = decodeAll([encodeFrameBuffer({ type: 'stdout', id: 1 }, Buffer.alloc(1048576))], {
      maxHeader: 100,
    });
    expect(frames[0]?.body.length).toBe(1048576);
    const error = decodeChunks([Buffer.from('0000000f00100001', 'hex')], { maxHeader: 100 }).error;
    expect(codeOf(error)).toBe('FRAME_TOO_LARGE');
  });
});

describe('FrameDecoder copies', () => {
  it('returns a body lying inside one chunk as a view of that chunk', () => {
    const chunk = ownMemory(
      Buffer.concat([ping, encodeFrameBuffer({ type: 'stdout', id: 1 }, Buffer.from('payload')), ping]),
    );
    const frames = decodeAll([chunk]);
    const body = frames[1]?.body as Buffer;
    expect(body.toString()).toBe('payload');
    expect(body.buffer).toBe(chunk.buffer);
    chunk[chunk.indexOf('payload')] = 0x50;
    expect(body.toString()).toBe('Payload');
  });

  it('returns a body that is exactly one chunk as that chunk', () => {
    const body = ownMemory(Buffer.from('exactly this chunk'));
    const head = encodeFrameBuffer({ type: 'stdout', id: 1 }, body).subarray(0, -body.length);
    const frames = decodeAll([head, body]);
    expect(frames[0]?.body).toBe(body);
  });

  it('copies a body spanning many chunks exactly once, with one allocation and no concat', () => {
    const body = Buffer.alloc(50_000);
    for (let i = 0; i < body.length; i += 1) body[i] = (i * 31 + 7) & 0xff;
    const frame = encodeFrameBuffer({ type: 'stdout', id: 9 }, body);
    const headerEnd = frame.length - body.length;
    const chunks = [ownMemory(frame.subarray(0, headerEnd))];
    for (let offset = headerEnd; offset < frame.length; offset += 997) {
      chunks.push(ownMemory(frame.subarray(offset, offset + 997)));
    }
    const allocations = vi.spyOn(Buffer, 'allocUnsafe');
    const concats = vi.spyOn(Buffer, 'concat');
    const frames = decodeAll(chunks);
    expect(allocations).toHaveBeenCalledTimes(1);
    expect(allocations).toHaveBeenCalledWith(body.length);
    expect(concats).not.toHaveBeenCalled();
    const decoded = frames[0]?.body as Buffer;
    expect(decoded.equals(body)).toBe(true);
    expect(chunks.some((chunk) => chunk.buffer === decoded.buffer)).toBe(false);
  });

  it('does not buffer byte-sized reads of a body into new buffers before it is complete', () => {
    const body = Buffer.alloc(3000, 0x61);
    const frame = encodeFrameBuffer({ type: 'stdout', id: 1 }, body);
    const allocations = vi.spyOn(Buffer, 'allocUnsafe');
    const frames = decodeAll(oneByteAtATime(frame));
    expect(frames[0]?.body.equals(body)).toBe(true);
    // The 8-byte prefix, the header and the body: one copy each.
    expect(allocations.mock.calls.length).toBeLessThanOrEqual(3);
  });
});

describe('FrameDecoder cost', () => {
  // A peer choosing its write sizes must not make the decoder quadratic: a 256 KiB
  // body in 1-byte reads is 262144 chunks, one copy of linear cost (about 20 ms).
  it('decodes a body fed one byte at a time in time linear in its length', () => {
    const body = Buffer.alloc(256 * 1024, 0x5a);
    const frame = encodeFrameBuffer({ type: 'stdout', id: 1 }, body);
    const reads = [...oneByteAtATime(frame)];
    const started = performance.now();
    const frames = decodeAll(reads);
    const elapsed = performance.now() - started;
    expect(frames[0]?.body.equals(body)).toBe(true);
    expect(elapsed).toBeLessThan(1000);
  });
});

describe('parseHeader', () => {
  it('returns the JSON object, unknown members included', () => {
    expect(parseHeader(Buffer.from('{"type":"x","n":[1,{"a":null}],"s":"\\u00e9"}'))).toStrictEqual({
      type: 'x',
      n: [1, { a: null }],
      s: 'é',
    });
  });

  it.each([
    ['not UTF-8', Buffer.from('7b2274797065223a22ff227d', 'hex')],
    ['not JSON', Buffer.from('hello')],
    ['empty', Buffer.alloc(0)],
    ['an array', Buffer.from('[{"type":"ping"}]')],
    ['null', Buffer.from('null')],
    ['a string', Buffer.from('"ping"')],
    ['without type', Buffer.from('{"id":1}')],
    ['with a number type', Buffer.from('{"type":5}')],
    ['with a null type', Buffer.from('{"type":null}')],
    ['with type only through __proto__', Buffer.from('{"__proto__":{"type":"ping"}}')],
  ])('refuses a header %s with PROTOCOL', (_what, bytes) => {
    expect(rexecErrorOf(() => parseHeader(bytes)).code).toBe('PROTOCOL');
  });

  // The error frame's message is all a peer learns about why it was cut off.
  it.each([
    ['not UTF-8', Buffer.from('7b2274797065223a22ff227d', 'hex'), 'header is not valid UTF-8'],
    ['not JSON', Buffer.from('hello'), 'header is not valid JSON'],
    ['an array', Buffer.from('[{"type":"ping"}]'), 'header is not a JSON object'],
    ['null', Buffer.from('null'), 'header is not a JSON object'],
    ['a string', Buffer.from('"ping"'), 'header is not a JSON object'],
    ['a number', Buffer.from('5'), 'header is not a JSON object'],
    ['without type', Buffer.from('{"id":1}'), 'header has no string "type"'],
  ])('says what is wrong with a header %s, in one chunk or split', (_what, bytes, message) => {
    expect(rexecErrorOf(() => parseHeader(bytes)).message).toBe(message);
    const frame = Buffer.concat([encodePrefix(bytes.length, 0), bytes]);
    for (const chunks of [[frame], oneByteAtATime(frame)]) {
      expect((decodeChunks(chunks).error as RexecError).message).toBe(message);
    }
  });

  it('says why a prefix is refused', () => {
    expect((decodeChunks([Buffer.from('0000000000000000', 'hex')]).error as RexecError).message).toBe(
      'header length is 0 (section 2: 1 <= H)',
    );
  });

  it('keeps a "__proto__" member as data without touching any prototype', () => {
    const header = parseHeader(Buffer.from('{"type":"ping","__proto__":{"polluted":true}}'));
    expect(Object.hasOwn(header, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(header)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('FrameDecoder header fast path', () => {
  it('accepts a valid header that contains U+FFFD itself, and refuses invalid UTF-8 in one chunk', () => {
    const frames: unknown[] = [];
    const decoder = new FrameDecoder((frame) => frames.push(frame.header));
    decoder.push(encodeFrameBuffer({ type: 'stdout', note: 'replacement \uFFFD char' }));
    expect(frames).toEqual([{ type: 'stdout', note: 'replacement \uFFFD char' }]);
    const bad = Buffer.concat([encodePrefix(12, 0), Buffer.from('{"type":"\xff"}', 'latin1')]);
    expect(() => new FrameDecoder(() => {}).push(bad)).toThrow(expect.objectContaining({ code: 'PROTOCOL' }));
  });
});
