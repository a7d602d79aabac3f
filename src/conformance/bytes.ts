// Byte helpers of the kit: frames with a header exactly as written, and comparisons
// that say where two byte strings first differ.
import { PREFIX_LENGTH } from '../protocol/constants.js';
import { fail } from './check.js';

/** One frame whose header is exactly `json` (for formatting the encoder never makes). */
export function rawFrame(json: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.from(json, 'utf8');
  return Buffer.concat([prefixOf(header.length, body.length), header, body]);
}

/** An 8-byte prefix with any lengths, even invalid ones. */
export function prefixOf(headerLength: number, bodyLength: number): Buffer {
  const prefix = Buffer.alloc(PREFIX_LENGTH);
  prefix.writeUInt32BE(headerLength, 0);
  prefix.writeUInt32BE(bodyLength, 4);
  return prefix;
}

/** The first offset where the two differ, or undefined when they are equal. */
export function firstDifference(actual: Uint8Array, expected: Uint8Array): number | undefined {
  const length = Math.min(actual.length, expected.length);
  for (let at = 0; at < length; at += 1) if (actual[at] !== expected[at]) return at;
  return actual.length === expected.length ? undefined : length;
}

/** Fails with the first differing offset unless the bytes are equal. */
export function sameBytes(actual: Buffer, expected: Buffer, what: string): void {
  const at = firstDifference(actual, expected);
  if (at === undefined) return;
  fail(`${what}: ${actual.length} bytes, expected ${expected.length}; they first differ at byte ${at}`);
}
