// How the torture server cuts its byte stream into writes: at every kind of boundary
// a receiver can meet (inside the 8-byte prefix, inside the header, inside the body,
// across two frames), one byte at a time, coalesced, or at random. The pieces always
// concatenate back to the frames, byte for byte (docs/protocol.md section 1).
import { PREFIX_LENGTH } from '../../protocol/constants.js';
import { pseudoRandom } from './pseudo-random.js';

/** The ways of cutting. */
export type CutStyle =
  | 'whole' // one write per frame
  | 'prefix' // each frame cut after 1, 4 and 7 bytes of its prefix
  | 'header' // cut after the prefix, inside the header (in a multi-byte character if any), before its last byte
  | 'body' // cut where the body starts, after its first byte, inside a multi-byte character if any, before its last byte
  | 'straddle' // every write holds the end of one frame and the first 3 bytes of the next
  | 'every-byte' // one byte per write
  | 'coalesce' // all frames in one write
  | 'random'; // pieces of 1 byte to 64 KiB, across frames

/** One write and the pause after it. */
export interface Piece {
  readonly bytes: Buffer;
  readonly pauseAfterMs: number;
}

/** Cuts encoded frames into writes; `pauseMs` follows every piece but the last. */
export function cutFrames(frames: readonly Buffer[], style: CutStyle, pauseMs = 0, seed = 1): Piece[] {
  const stream = Buffer.concat(frames);
  const cuts = new Set<number>();
  let start = 0;
  for (const frame of frames) {
    for (const at of cutsInFrame(frame, style)) cuts.add(start + at);
    start += frame.length;
  }
  if (style === 'every-byte') for (let at = 1; at < stream.length; at += 1) cuts.add(at);
  if (style === 'random') {
    const next = pseudoRandom(seed);
    for (let at = 0; at < stream.length;) {
      at += 1 + Math.floor(next() * (next() < 0.5 ? 16 : 65536));
      cuts.add(at);
    }
  }
  const sorted = [...cuts].filter((at) => at > 0 && at < stream.length).sort((a, b) => a - b);
  const pieces: Piece[] = [];
  let from = 0;
  for (const at of [...sorted, stream.length]) {
    pieces.push({ bytes: stream.subarray(from, at), pauseAfterMs: at === stream.length ? 0 : pauseMs });
    from = at;
  }
  return pieces;
}

/** Cut offsets inside one frame (relative to its start) for the per-frame styles. */
function cutsInFrame(frame: Buffer, style: CutStyle): number[] {
  const headerLength = frame.readUInt32BE(0);
  const bodyStart = PREFIX_LENGTH + headerLength;
  const end = frame.length;
  switch (style) {
    case 'whole':
      return [end];
    case 'prefix':
      return [1, 4, 7];
    case 'header':
      return [PREFIX_LENGTH, PREFIX_LENGTH + insideCharacter(frame.subarray(PREFIX_LENGTH, bodyStart)), bodyStart - 1];
    case 'body':
      if (end === bodyStart) return [PREFIX_LENGTH];
      return [bodyStart, bodyStart + 1, bodyStart + insideCharacter(frame.subarray(bodyStart)), end - 1];
    case 'straddle':
      return [3];
    default:
      return [];
  }
}

/** An offset inside a multi-byte UTF-8 character if there is one, else the middle. */
function insideCharacter(bytes: Buffer): number {
  for (let i = 1; i < bytes.length; i += 1) {
    // A continuation byte (10xxxxxx): cutting before it splits a character.
    if (((bytes[i] as number) & 0xc0) === 0x80) return i;
  }
  return Math.max(1, Math.floor(bytes.length / 2));
}
