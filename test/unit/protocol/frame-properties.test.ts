// Properties of encoder + decoder together (fast-check): any frames, any reads.
import fc from 'fast-check';
import { describe, it, expect } from 'vitest';
import { RexecError } from '../../../src/errors.js';
import { MAX_BODY_LENGTH } from '../../../src/protocol/constants.js';
import { FrameDecoder } from '../../../src/protocol/frame-decoder.js';
import type { FrameHeader } from '../../../src/protocol/frame.js';
import { encodeFrame, encodeFrameBuffer, encodePrefix } from '../../../src/protocol/frame-encoder.js';
import { cutBySizes, decodeAll, decodeChunks, oneByteAtATime, ownMemory } from './harness.js';
import type { DecodeOutcome } from './harness.js';

// Any code point, plus lone surrogates (which JSON.stringify escapes).
const codePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
const text = fc.string({
  unit: fc.oneof({ weight: 8, arbitrary: codePoint }, fc.constantFrom('\ud800', '\udfff')),
  maxLength: 12,
});

const header: fc.Arbitrary<FrameHeader> = fc
  .tuple(text, fc.dictionary(text, fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }), { maxKeys: 5 }))
  .map(([type, members]) => ({ ...members, type }));

/** Bodies 0..70000 bytes: mostly small, some empty, some large (filled from a seed, cheaply). */
const body: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  fc.tuple(fc.integer({ min: 1, max: 70_000 }), fc.integer({ min: 0, max: 255 })).map(([length, seed]) => {
    const bytes = Buffer.alloc(length);
    for (let i = 0; i < length; i += 1) bytes[i] = (seed + i * 167 + (i >> 8)) & 0xff;
    return bytes;
  }),
);

const frames = fc.array(fc.record({ header, body }), { maxLength: 8 });

/** How the stream is read: 1 byte at a time, all at once, or in random sizes. */
const reads = fc.oneof(
  fc.constant([1]),
  fc.constant([] as number[]),
  fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 20 }),
  fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 20 }),
);

/** What a header becomes after a trip through JSON (e.g. -0 turns into 0). */
const viaJson = (value: FrameHeader): unknown => JSON.parse(JSON.stringify(value));

describe('encode then decode', () => {
  it('gives back the same frames in order, however the stream is cut into reads', () => {
    fc.assert(
      fc.property(frames, reads, (sent, sizes) => {
        const stream = Buffer.concat(sent.flatMap(({ header: h, body: b }) => encodeFrame(h, b)));
        const received = decodeAll(cutBySizes(stream, sizes));
        const headers = received.map((frame) => frame.header);
        expect(headers).toStrictEqual(sent.map((frame) => viaJson(frame.header)));
        expect(received.map((frame) => frame.body.toString('hex'))).toStrictEqual(
          sent.map((frame) => frame.body.toString('hex')),
        );
      }),
      { numRuns: 150 },
    );
  });

  // The decoder hands out views of the chunks it was given (it owns them once pushed),
  // so it must never write into them, nor reuse memory it has handed out.
  it('never changes a body it has handed out while it decodes later frames', () => {
    fc.assert(
      fc.property(frames, reads, (sent, sizes) => {
        const stream = Buffer.concat(sent.map(({ header: h, body: b }) => encodeFrameBuffer(h, b)));
        const received: Buffer[] = [];
        const snapshots: string[] = [];
        const decoder = new FrameDecoder((frame) => {
          received.push(frame.body);
          snapshots.push(frame.body.toString('hex'));
        });
        for (const read of cutBySizes(stream, sizes)) decoder.push(Buffer.from(read));
        expect(received.map((b) => b.toString('hex'))).toStrictEqual(snapshots);
        expect(snapshots).toStrictEqual(sent.map((f) => f.body.toString('hex')));
      }),
      { numRuns: 60 },
    );
  });
});

describe('garbage input', () => {
  const expectOnlyFramingErrors = (outcome: DecodeOutcome, codes = ['PROTOCOL', 'FRAME_TOO_LARGE']): void => {
    if (outcome.error !== undefined) {
      expect(outcome.error).toBeInstanceOf(RexecError);
      expect(codes).toContain((outcome.error as RexecError).code);
    }
    for (const frame of outcome.frames) expect(typeof frame.header.type).toBe('string');
  };

  it('random bytes in random reads throw nothing but PROTOCOL or FRAME_TOO_LARGE', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), reads, (bytes, sizes) => {
        expectOnlyFramingErrors(decodeChunks(cutBySizes(Buffer.from(bytes), sizes)));
      }),
      { numRuns: 500 },
    );
  });

  it('random headers behind a plausible prefix throw nothing but PROTOCOL', () => {
    const garbageHeader = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 200 }),
      fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 60 }).map((s) => new Uint8Array(Buffer.from(s))),
      fc.jsonValue().map((v) => new Uint8Array(Buffer.from(JSON.stringify(v)))),
    );
    fc.assert(
      fc.property(garbageHeader, fc.uint8Array({ maxLength: 40 }), reads, (head, tail, sizes) => {
        const bytes = Buffer.concat([encodePrefix(head.length, tail.length), head, tail]);
        const outcome = decodeChunks(cutBySizes(bytes, sizes));
        expect(outcome.frames.length + (outcome.error === undefined ? 0 : 1)).toBe(1);
        expectOnlyFramingErrors(outcome, ['PROTOCOL']);
      }),
      { numRuns: 500 },
    );
  });

  it('valid frames followed by garbage: the frames come out, then at most a framing error', () => {
    fc.assert(
      fc.property(frames, fc.uint8Array({ minLength: 1, maxLength: 100 }), reads, (sent, junk, sizes) => {
        const valid = Buffer.concat(sent.map(({ header: h, body: b }) => encodeFrameBuffer(h, b)));
        const outcome = decodeChunks(cutBySizes(Buffer.concat([valid, junk]), sizes));
        expect(outcome.frames.length).toBeGreaterThanOrEqual(sent.length);
        const headers = outcome.frames.slice(0, sent.length).map((f) => f.header);
        expect(headers).toStrictEqual(sent.map((f) => viaJson(f.header)));
        expectOnlyFramingErrors(outcome);
      }),
      { numRuns: 100 },
    );
  });
});

describe('many frames and long bodies', () => {
  it('decodes 20000 tiny frames from one chunk, in order', () => {
    const count = 20_000;
    const stream = Buffer.concat(
      Array.from({ length: count }, (_, i) =>
        encodeFrameBuffer({ type: 't', i }, Buffer.from([i & 0xff]).subarray(0, i % 2)),
      ),
    );
    const received = decodeAll([stream]);
    expect(received).toHaveLength(count);
    received.forEach((frame, i) => {
      expect(frame.header['i']).toBe(i);
      expect(frame.body.length).toBe(i % 2);
      if (i % 2 === 1) expect(frame.body[0]).toBe(i & 0xff);
    });
  });

  it('decodes 3000 tiny frames fed one byte at a time', () => {
    const ids = Array.from({ length: 3000 }, (_, i) => i + 1);
    const stream = Buffer.concat(ids.map((id) => encodeFrameBuffer({ type: 'stdout', id })));
    const received = decodeAll(oneByteAtATime(stream));
    expect(received.map((frame) => frame.header['id'])).toStrictEqual(ids);
  });

  it('a body spanning many chunks comes out whole and in its own memory; one inside a chunk is a view', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: MAX_BODY_LENGTH }),
        fc.integer({ min: 1, max: 3000 }),
        (length, readCount) => {
          const readSize = Math.ceil(length / readCount);
          const bodyBytes = Buffer.alloc(length);
          for (let i = 0; i < length; i += 7) bodyBytes[i] = i & 0xff;
          const [head] = encodeFrame({ type: 'stdout', id: 1 }, bodyBytes);
          // Chunks in their own memory: small Buffer.from() copies share one pool.
          const chunks = [head, ...cutBySizes(bodyBytes, [readSize])].map(ownMemory);
          const [frame] = decodeAll(chunks);
          expect(frame?.body.equals(bodyBytes)).toBe(true);
          const lonely = chunks.length === 2;
          expect(chunks.some((chunk) => chunk.buffer === frame?.body.buffer)).toBe(lonely);

          const whole = Buffer.alloc(head.length + length);
          head.copy(whole);
          bodyBytes.copy(whole, head.length);
          const [inOne] = decodeAll([whole]);
          expect(inOne?.body.buffer).toBe(whole.buffer);
          expect(inOne?.body.byteOffset).toBe(whole.byteOffset + head.length);
        },
      ),
      { numRuns: 40 },
    );
  });
});
