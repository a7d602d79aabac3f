// `frames decode` underneath: frames with their offsets, and the exact offset, frame,
// part and error code where a stream stops being valid, for every malformed vector.
import { describe, expect, it } from 'vitest';
import { dumpStream } from '../../../src/conformance/stream-dump.js';
import { formatStream, preview, streamJson } from '../../../src/conformance/stream-listing.js';
import { MAX_BODY_LENGTH, MAX_HEADER_LENGTH } from '../../../src/protocol/constants.js';
import { bytesOf, hex, loadExtra, loadShared } from '../protocol/harness.js';

const shared = loadShared();
const extra = loadExtra();

describe('dumpStream', () => {
  it('lists the shared stream as its four frames, at their offsets', () => {
    const stream = hex(shared.stream_of_first_four_hex);
    const dump = dumpStream(stream);
    expect(dump.problem).toBeUndefined();
    let offset = 0;
    dump.frames.forEach((frame, i) => {
      const vector = shared.frames[i];
      expect(frame).toMatchObject({ index: i, offset, header: vector?.header });
      expect(frame.body.toString('hex')).toBe(vector?.body_hex);
      offset += (vector?.frame_hex.length ?? 0) / 2;
    });
    expect(dump.frames).toHaveLength(4);
  });

  describe.each([...shared.malformed, ...extra.malformed])('malformed vector $name', (vector) => {
    it(`stops at the exact offset with ${vector.expect}`, () => {
      const bytes = bytesOf(vector);
      const dump = dumpStream(bytes);
      const before = vector.frames_before ?? 0;
      const start = dump.frames.reduce((sum, frame) => sum + 8 + frame.headerLength + frame.bodyLength, 0);
      expect(dump.frames).toHaveLength(before);
      expect(dump.problem).toMatchObject({ kind: 'invalid', code: vector.expect, frameIndex: before });
      const headerLength = bytes.readUInt32BE(start);
      if (headerLength === 0 || headerLength > MAX_HEADER_LENGTH) {
        expect(dump.problem).toMatchObject({ offset: start, part: 'header length' });
      } else if (bytes.readUInt32BE(start + 4) > MAX_BODY_LENGTH) {
        expect(dump.problem).toMatchObject({ offset: start + 4, part: 'body length' });
      } else {
        expect(dump.problem?.part).toBe('header');
        expect(dump.problem?.offset).toBeGreaterThanOrEqual(start + 8);
        expect(dump.problem?.offset).toBeLessThanOrEqual(start + 8 + headerLength);
      }
    });
  });

  it('points inside the header where the JSON parser says it goes wrong', () => {
    // {"type":"ping"} then "x": the 16th header byte.
    const dump = dumpStream(hex('00000010000000007b2274797065223a2270696e67227d78'));
    expect(dump.problem).toMatchObject({ offset: 8 + 15, part: 'header', code: 'PROTOCOL' });
  });

  it('says where a stream cut inside a frame ends, and how much of the frame it has', () => {
    const stream = hex(shared.stream_of_first_four_hex);
    const cutInPrefix = dumpStream(stream.subarray(0, 23 + 5));
    expect(cutInPrefix.frames).toHaveLength(1);
    expect(cutInPrefix.problem).toMatchObject({ kind: 'incomplete', offset: 23, frameIndex: 1, code: undefined });
    expect(cutInPrefix.problem?.message).toBe('the stream ends inside frame 1: it has 5 of the 8 prefix bytes');
    const cutInBody = dumpStream(stream.subarray(0, stream.length - 1));
    expect(cutInBody.problem?.message).toBe('the stream ends inside frame 3: it has 134 of its 135 bytes');
  });
});

describe('the listing', () => {
  it('has a line per frame and a verdict', () => {
    const text = formatStream(dumpStream(hex(shared.stream_of_first_four_hex)), 32);
    expect(text.split('\n')).toEqual([
      '#0  offset 0  H=15 B=0  {"type":"ping"}',
      '#1  offset 23  H=46 B=0  {"type":"exec","id":1,"argv":["echo","hello"]}',
      '#2  offset 77  H=24 B=6  {"type":"stdout","id":1}  body "hello\\n"',
      expect.stringMatching(/^#3 {2}offset 115 {2}H=127 B=0 {2}\{"type":"exit",/),
      '4 frames, 250 bytes: valid',
      '',
    ]);
  });

  it('ends with the offset, frame, part, code and reason of an invalid stream', () => {
    const text = formatStream(dumpStream(hex('0000000f000000007b2274797065223a2270696e67227d0000000f00100001')), 32);
    expect(text).toContain(
      'INVALID at offset 27 (frame 1, body length): FRAME_TOO_LARGE: body length 1048577 is over the limit of 1048576\n1 frame before it, 31 bytes in all\n',
    );
  });

  it('previews text as a string and anything else as hex, with what is left out', () => {
    expect(preview(Buffer.from('hello\n'), 32)).toBe('"hello\\n"');
    expect(preview(Buffer.from([0, 255, 10]), 32)).toBe('hex 00 ff 0a');
    expect(preview(Buffer.from('abcdef'), 2)).toBe('"ab" (+4 bytes)');
  });

  it('as JSON: every frame with its body in hex, and the problem', () => {
    const json = streamJson(
      dumpStream(hex('00000018000000067b2274797065223a227374646f7574222c226964223a317d68656c6c6f0a00')),
    );
    expect(json).toMatchObject({
      valid: false,
      length: 39,
      frames: [{ offset: 0, headerLength: 24, bodyLength: 6, bodyHex: '68656c6c6f0a' }],
    });
    expect(json.problem).toMatchObject({ kind: 'incomplete', offset: 38 });
  });
});
