// One host's output stream cut into whole lines, each with the host's prefix, so that
// lines of many hosts can be written one after another and never torn. A partial line
// waits for the rest; one that grows past the bound is let out in pieces, each printed
// as a line of its own (with the prefix), so memory per stream stays bounded.

const NEWLINE = 0x0a;

/** Longest piece of a line kept waiting for its end, by default (bytes). */
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

  /** The complete lines that `chunk` finishes, prefixed, as one buffer (empty if none). */
  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end === -1) break;
      this.#emitLine(out, chunk.subarray(start, end + 1));
      start = end + 1;
    }
    if (start < chunk.length) {
      this.#pending.push(chunk.subarray(start));
      this.#pendingBytes += chunk.length - start;
      while (this.#pendingBytes > this.#max) this.#emitPiece(out);
    }
    return Buffer.concat(out);
  }

  /** The last line when the stream ended without a newline, finished with one (or empty). */
  end(): Buffer {
    if (this.#pendingBytes === 0) return Buffer.alloc(0);
    const out: Buffer[] = [];
    this.#emitLine(out, Buffer.from('\n'));
    return Buffer.concat(out);
  }

  // `tail` ends the pending line (it ends in a newline).
  #emitLine(out: Buffer[], tail: Buffer): void {
    out.push(this.#prefix, ...this.#pending, tail);
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  // Lets out the first #max bytes of the pending line, cut where no UTF-8 character is split.
  #emitPiece(out: Buffer[]): void {
    const all = Buffer.concat(this.#pending);
    let cut = this.#max;
    // Back off over continuation bytes (10xxxxxx), at most 3, to a character's first byte.
    for (let back = 0; back < 3 && cut > 1 && ((all[cut] as number) & 0xc0) === 0x80; back++) cut--;
    out.push(this.#prefix, all.subarray(0, cut), Buffer.from('\n'));
    const rest = all.subarray(cut);
    this.#pending = rest.length === 0 ? [] : [rest];
    this.#pendingBytes = rest.length;
  }
}
