// How the torture server cuts frames into writes: every style gives back the same
// bytes, and cuts where it says (docs/protocol.md section 1).
import { describe, expect, it } from 'vitest';
import { encodeFrameBuffer } from '../../../src/protocol/frame-encoder.js';
import { cutFrames } from '../../../src/conformance/torture/write-plan.js';
import type { CutStyle } from '../../../src/conformance/torture/write-plan.js';

const frames = [
  encodeFrameBuffer({ type: 'started', id: 1, pid: 9, note: '粘包' }),
  encodeFrameBuffer({ type: 'stdout', id: 1 }, Buffer.from('ü and 😀 and more text')),
  encodeFrameBuffer({ type: 'stderr', id: 1 }, Buffer.from('x')),
  encodeFrameBuffer({ type: 'exit', id: 1, code: 0 }),
];
const stream = Buffer.concat(frames);
const starts = frames.map((_, i) => frames.slice(0, i).reduce((sum, frame) => sum + frame.length, 0));
const STYLES: CutStyle[] = ['whole', 'prefix', 'header', 'body', 'straddle', 'every-byte', 'coalesce', 'random'];

/** Stream offsets where one piece ends and the next begins. */
function cutsOf(style: CutStyle): number[] {
  const cuts: number[] = [];
  let at = 0;
  for (const piece of cutFrames(frames, style).slice(0, -1)) cuts.push((at += piece.bytes.length));
  return cuts;
}

describe('cutFrames', () => {
  it.each(STYLES)('%s: the pieces are the frames, byte for byte, none empty', (style) => {
    const pieces = cutFrames(frames, style, 3);
    expect(Buffer.concat(pieces.map((piece) => piece.bytes)).equals(stream)).toBe(true);
    expect(pieces.every((piece) => piece.bytes.length > 0)).toBe(true);
    expect(pieces.map((piece) => piece.pauseAfterMs)).toEqual([...pieces.slice(1).map(() => 3), 0]);
  });

  it('whole: one write per frame; coalesce: one write', () => {
    expect(cutsOf('whole')).toEqual(starts.slice(1));
    expect(cutFrames(frames, 'coalesce')).toHaveLength(1);
  });

  it('prefix: each frame cut after 1, 4 and 7 bytes', () => {
    expect(cutsOf('prefix')).toEqual(
      starts.flatMap((start) => [start + 1, start + 4, start + 7]).filter((at) => at > 0),
    );
  });

  it('header: after the prefix, inside a multi-byte character, before the last header byte', () => {
    const cuts = cutsOf('header');
    const first = frames[0] as Buffer;
    const headerEnd = 8 + first.readUInt32BE(0);
    expect(cuts).toContain(8);
    expect(cuts).toContain(headerEnd - 1);
    expect(cuts.some((at) => at > 8 && at < headerEnd && ((stream[at] as number) & 0xc0) === 0x80)).toBe(true);
  });

  it('body: at its start, after its first byte, inside a multi-byte character, before its last byte', () => {
    const cuts = cutsOf('body');
    const second = frames[1] as Buffer;
    const bodyStart = (starts[1] as number) + 8 + second.readUInt32BE(0);
    const end = (starts[1] as number) + second.length;
    expect(cuts).toEqual(expect.arrayContaining([bodyStart, bodyStart + 1, end - 1]));
    expect(cuts.some((at) => at > bodyStart && at < end && ((stream[at] as number) & 0xc0) === 0x80)).toBe(true);
  });

  it('straddle: every write but the first holds the end of a frame and the start of the next', () => {
    expect(cutsOf('straddle')).toEqual([3, ...starts.slice(1).map((start) => start + 3)]);
  });

  it('every-byte: one byte per write', () => {
    expect(cutFrames(frames, 'every-byte').every((piece) => piece.bytes.length === 1)).toBe(true);
  });

  it('random: the same pieces for the same seed, others for another, none over 64 KiB', () => {
    const big = [encodeFrameBuffer({ type: 'stdout', id: 1 }, Buffer.alloc(500_000, 7))];
    const sizes = (seed: number): number[] => cutFrames(big, 'random', 0, seed).map((piece) => piece.bytes.length);
    expect(sizes(5)).toEqual(sizes(5));
    expect(sizes(5)).not.toEqual(sizes(6));
    expect(Math.max(...sizes(5))).toBeLessThanOrEqual(65536);
    expect(Math.min(...sizes(5).slice(0, -1))).toBeGreaterThanOrEqual(1);
  });
});
