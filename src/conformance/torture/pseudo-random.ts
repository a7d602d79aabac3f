// Repeatable pseudo-random numbers (xorshift32): a torture run cuts and fills frames
// the same way every time, so a failure can be reproduced.

/** A generator of numbers in [0, 1) from `seed`. */
export function pseudoRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}

/** `length` bytes from `seed`. */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const next = pseudoRandom(seed);
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i += 1) bytes[i] = Math.floor(next() * 256);
  return bytes;
}
