// One host's output stream cut into whole lines, each with the host's prefix, so that
// lines of many hosts can be written one after another and never torn. A partial line
// waits for the rest; a line longer than the bound is let out in pieces of at most that
// many bytes, each printed as a line of its own (with the prefix), whether the line
// grows across chunks or arrives whole in one: memory per stream stays bounded, and no
// printed piece is longer than the bound.

const NEWLINE = 0x0a;
const NEWLINE_BUFFER = Buffer.from('\n');

/** Longest piece of a line printed at once, and kept waiting for its end (bytes). */
export const MAX_PENDING_LINE = 64 * 1024;

/** Cuts one stream into prefixed lines. */
export class LineSplitter {
  readonly #prefix: Buffer;
  readonly #max: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(prefix: string, maxPending = MAX_PENDING_LINE) {
    this.#prefix = Buffer.from(prefix);
    this.#max = maxPending;
  }

  /** The complete lines (and full pieces of long ones) that `chunk` gives, prefixed, as one buffer. */
  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end === -1) break;
      this.#take(out, chunk.subarray(start, end));
      this.#emitLine(out);
      start = end + 1;
    }
    if (start < chunk.length) this.#take(out, chunk.subarray(start));
    return out.length === 0 ? Buffer.alloc(0) : Buffer.concat(out);
  }

  /** The last line when the stream ended without a newline, finished with one (or empty). */
  end(): Buffer {
    if (this.#pendingBytes === 0) return Buffer.alloc(0);
    const out: Buffer[] = [];
    this.#emitLine(out);
    return Buffer.concat(out);
  }

  // Adds part of a line (no newline in it) to what waits, letting out full pieces while
  // more than #max bytes wait: what is left waiting is at most #max bytes.
  #take(out: Buffer[], part: Buffer): void {
    if (part.length === 0) return;
    this.#pending.push(part);
    this.#pendingBytes += part.length;
    if (this.#pendingBytes <= this.#max) return;
    // One copy of what waits, then pieces cut from it (no copy per piece).
    const all = this.#pending.length === 1 ? part : Buffer.concat(this.#pending);
    let offset = 0;
    while (all.length - offset > this.#max) {
      const cut = characterBoundary(all, offset, offset + this.#max);
      out.push(this.#prefix, all.subarray(offset, cut), NEWLINE_BUFFER);
      offset = cut;
    }
    const rest = all.subarray(offset);
    this.#pending = rest.length === 0 ? [] : [rest];
    this.#pendingBytes = rest.length;
  }

  // Ends the waiting line (at most #max bytes) with a newline.
  #emitLine(out: Buffer[]): void {
    out.push(this.#prefix, ...this.#pending, NEWLINE_BUFFER);
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}

// `cut`, moved back over UTF-8 continuation bytes (10xxxxxx), at most 3, to a character's
// first byte, so that no character is split (never back to `start`: a piece is never empty).
function characterBoundary(bytes: Buffer, start: number, cut: number): number {
  let at = cut;
  for (let back = 0; back < 3 && at > start + 1 && ((bytes[at] as number) & 0xc0) === 0x80; back++) at--;
  return at;
}
